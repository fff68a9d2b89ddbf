-- long.lua - a run that lasts far longer than any test waits for it (a day
-- of simulated time), for the tests that stop a run from outside: the lock
-- on the data directory, SIGINT and SIGTERM.  Customer records on three
-- regions, each copied to the next, and a trickle of orders.  Early on it
-- has in flight everything an interrupt must not lose: west goes down (the
-- copies of its records wait in node.west), messages are delayed longer
-- than the run lasts (they wait in the fault layer), and the broker goes
-- down (the writes it refuses, the clients hold in memory).
local shop = require "shop"

local regions = { "east", "middle", "west" }

return shop.scenario {
  name = "long",
  duration = 86400,
  regions = regions,
  catalog = {
    { sku = "GIFTCARD", name = "Gift card", price = 25, stock = 100000000 },
  },
  workload = {
    rate = 5,
    customers = {
      rate = 40,
      operation = shop.customer_ops {
        mix = { create = 50, update = 30, delete = 5, get = 15 },
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
  failures = {
    { at = 1, target = "west", action = "down" },
    { at = 2, action = "delay", probability = 0.3, delay = 1000000 },
    { at = 3, target = "broker", action = "down" },
  },
}
