-- dup_reorder.lua - the transport duplicates 20% of the messages and
-- shuffles every batch, for the whole run: the central totals must still be
-- exact (the center applies each order once, by its key).
local shop = require "shop"
return shop.scenario {
  duration = 20,
  regions = { "seattle", "boston", "denver" },
  catalog = {
    { sku = "LAPTOP", name = "Laptop", price = 999.99, stock = 150 },
    { sku = "MOUSE", name = "Mouse", price = 19.99, stock = 2000 },
  },
  workload = { rate = 30 },
  failures = {
    { at = 0, action = "duplicate", probability = 0.2, duration = 20 },
    { at = 0, action = "reorder", probability = 1, duration = 20 },
  },
}
