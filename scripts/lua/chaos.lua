-- chaos.lua - orders and customer records under a random failure schedule
-- drawn from the seed: regions, the center, the documents store and the
-- broker go down or slow, partitions cut links one way or both, the
-- transport drops, duplicates, delays and reorders messages, and the relay
-- and the applier crash.  Every fault ends before the run does; then every
-- check must hold.  Run many seeds:
--
--   ddbsim run chaos.lua --runs 200 --seed 1
local shop = require "shop"

local regions = { "north", "south", "west" }
local duration = 20

return shop.scenario {
  name = "chaos",
  duration = duration,
  regions = regions,

  catalog = {
    { sku = "PHONE", name = "Phone", price = 599, components = { CHARGER = 1 }, stock = 400 },
    { sku = "CHARGER", name = "Charger", price = 19.99, stock = 1500 },
    { sku = "CASE", name = "Case", price = 9.5, stock = 2000 },
  },

  restocks = {
    { at = duration / 2, region = "north", sku = "PHONE", quantity = 100 },
  },

  workload = {
    rate = 25,
    order = shop.orders {
      products = { PHONE = 30, CHARGER = 40, CASE = 30 },
      quantity = { [1] = 85, [2] = 10, [6] = 5 },
      customers = 300,
    },
    customers = {
      rate = 15,
      operation = shop.customer_ops {
        places = {
          { 1000, 39999, "Portland", "ME" },
          { 40000, 69999, "Austin", "TX" },
          { 70000, 99999, "Portland", "OR" },
        },
      },
    },
  },

  rules = {
    customer_home = shop.zip_home {
      { 1000, 39999, "north" }, { 40000, 69999, "south" }, { 70000, 99999, "west" },
    },
    customer_replicas = shop.ring_replicas(regions, 1),
    -- An order for a region that is down goes to the next region up.
    order = function(order)
      if ddbsim.node_state(order.region) ~= "down" then
        return true
      end
      for _, r in ipairs(regions) do
        if ddbsim.node_state(r) ~= "down" then
          return { region = r }
        end
      end
      return true -- every region is down: refused as unavailable
    end,
  },

  failures = shop.random_schedule {
    duration = duration,
    count = 8,
    nodes = { "north", "south", "west", "central", "documents", "broker" },
    partitions = {
      { from = { "north" }, to = { "broker" } },
      { from = { "central" }, to = { "broker" } },
      { from = { "documents" }, to = { "south", "west" } },
    },
    messages = true,
    crashes = true,
    longest = 4,
  },
}
