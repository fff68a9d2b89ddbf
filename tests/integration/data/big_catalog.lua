-- big_catalog.lua - a catalog of many products (--param products=N, default
-- 8000) in three regions, so that the setup (the wipe, then the catalog and
-- its stock in every region) lasts long enough for a test to stop a run in
-- the middle of it.  The workload is a second of a few orders.
local shop = require "shop"

local n = ddbsim.param("products", 8000)
local catalog = {}
for i = 1, n do
  catalog[i] = { sku = string.format("P%06d", i), name = "Product " .. i, price = 1, stock = 10 }
end

return shop.scenario {
  name = "big_catalog",
  duration = 1,
  regions = { "east", "middle", "west" },
  catalog = catalog,
  workload = {
    rate = 2,
    order = shop.orders { products = { P000001 = 1 }, quantity = { [1] = 1 }, customers = 5 },
  },
}
