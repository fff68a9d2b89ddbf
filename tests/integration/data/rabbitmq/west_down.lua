-- west_down.lua - customers.lua's regions, rules and workload without its
-- failure schedule, for 10 s: the test holds west down from outside (ddbsim
-- node set west down), so every write for west waits in node.west.
local shop = require "shop"

local regions = { "east", "middle", "west" }

return shop.scenario {
  name = "west_down",
  duration = 10,
  regions = regions,
  catalog = { { sku = "GIFTCARD", name = "Gift card", price = 25, stock = 100000 } },
  workload = {
    rate = 2,
    customers = {
      rate = 40,
      operation = shop.customer_ops {
        mix = { create = 60, update = 30, delete = 5, get = 5 },
        places = {
          { 1000, 39999, "Boston", "MA" },
          { 40000, 69999, "Chicago", "IL" },
          { 70000, 99999, "Seattle", "WA" },
        },
      },
    },
  },
  rules = {
    customer_home = shop.zip_home {
      { 1000, 39999, "east" }, { 40000, 69999, "middle" }, { 70000, 99999, "west" },
    },
    customer_replicas = shop.ring_replicas(regions, 1),
  },
}
