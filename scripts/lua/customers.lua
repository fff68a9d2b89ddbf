-- customers.lua - customer records across three regions, the system ddbsim
-- replaces: a customer's home region follows from the zip code prefix
-- (1000-39999 east, 40000-69999 middle, 70000-99999 west; anything else is
-- rejected); each region's records are copied to one other region, in a
-- ring (east on west, middle on east, west on middle).  Two outages
-- overlap, so every row of the decision table happens: both up; home up and
-- replica down; home down and replica up; both down ("unavailable", queued,
-- never lost).  Writes for a down region wait in its node.NAME queue and
-- are replayed when it is back.
--
--   ddbsim run customers.lua --seed 42
--   ddbsim run customers.lua --param outages=no --param duration=10
--     the same workload without the failure schedule (for outages of your
--     own: ddbsim node set west down), for 10 s
local shop = require "shop"

local regions = { "east", "middle", "west" }
local duration = ddbsim.param("duration", 40)
local outages = ddbsim.param("outages", "yes")
if outages ~= "yes" and outages ~= "no" then
  error("--param outages=" .. outages .. ": yes or no")
end

return shop.scenario {
  name = "customers",
  duration = duration,
  regions = regions,

  catalog = {
    { sku = "GIFTCARD", name = "Gift card", price = 25, stock = 100000 },
  },

  workload = {
    rate = 2, -- a trickle of orders: this scenario is about customers
    customers = {
      rate = 40, -- operations per second
      operation = shop.customer_ops {
        mix = { create = 45, update = 25, delete = 5, get = 15, find = 10 },
        places = {
          { 1000, 39999, "Boston", "MA" },
          { 40000, 69999, "Chicago", "IL" },
          { 70000, 99999, "Seattle", "WA" },
        },
        invalid = 0.02, -- a few zips outside every range: rejected
      },
    },
  },

  rules = {
    customer_home = shop.zip_home {
      { 1000, 39999, "east" }, { 40000, 69999, "middle" }, { 70000, 99999, "west" },
    },
    customer_replicas = shop.ring_replicas(regions, 1),
  },

  failures = outages == "yes" and {
    { at = 10, target = "east", action = "down", duration = 8 },   -- east and middle overlap:
    { at = 14, target = "middle", action = "down", duration = 6 }, -- middle's records have no copy up
    { at = 26, target = "west", action = "down", duration = 5 },
  } or {},

  checks = {
    -- Zips outside every range never became records.
    ["out-of-range zips rejected"] = function(facts)
      local n = shop.get(facts, "customers", "rejected", "rule:zip_out_of_range") or 0
      if n == 0 then
        return false, "no create with an out-of-range zip was rejected"
      end
      return true
    end,
  },
}
