-- fault.lua - orders and customer records under one kind of fault, chosen
-- with --param fault=KIND, active from t=2 to t=8 of a 10 s run:
--   down, slow, partition, oneway, drop, duplicate, delay, reorder,
--   crash_relay, crash_applier, center_down, broker_down
local shop = require "shop"
local kind = ddbsim.param("fault", "down")

local steps = {
  down = { target = "south", action = "down" },
  center_down = { target = "central", action = "down" },
  broker_down = { target = "broker", action = "down" },
  slow = { target = "south", action = "slow", latency = 0.08, jitter = 0.02 },
  partition = { action = "partition", from = { "central" }, to = { "broker" } },
  oneway = { action = "partition", from = { "broker" }, to = { "north" }, oneway = true },
  drop = { action = "drop", probability = 0.3 },
  duplicate = { action = "duplicate", probability = 0.3 },
  delay = { action = "delay", probability = 0.3, delay = 0.4 },
  reorder = { action = "reorder", probability = 1 },
  crash_relay = { target = "relay", action = "crash" },
  crash_applier = { target = "applier", action = "crash" },
}
local step = steps[kind]
if not step then
  error("unknown fault kind " .. kind)
end
step.at, step.duration = 2, 6

local regions = { "north", "south" }
return shop.scenario {
  duration = 10,
  regions = regions,
  catalog = {
    { sku = "MUG", name = "Mug", price = 8, stock = 5000 },
    { sku = "TEA", name = "Tea", price = 3.5, stock = 5000, components = { MUG = 1 } },
  },
  workload = {
    rate = 40,
    customers = {
      rate = 20,
      operation = shop.customer_ops {
        places = { { 1000, 49999, "Leeds", "WY" }, { 50000, 99999, "York", "NY" } },
      },
    },
  },
  rules = {
    customer_home = shop.zip_home { { 1000, 49999, "north" }, { 50000, 99999, "south" } },
    customer_replicas = shop.ring_replicas(regions, 1),
  },
  failures = { step },
}
