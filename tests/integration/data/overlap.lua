-- overlap.lua - two steps of one kind that overlap, [1,3) and [2,4) of a 6 s
-- run, chosen with --param kind=down|slow|partition|drop: the fault holds
-- from 1 to 4, not only until the first one ends.  The rule rejects the
-- probes (half the orders) placed in a region that is not up, with the
-- state and the second as reason ("down_3"), so the report shows when a
-- region was down or slow; the other orders show the latency of a slow
-- region; lag at the center shows how long a partition or a drop held.
local kind = ddbsim.param("kind", "down")

local function twice(step)
  local a, b = {}, {}
  for k, v in pairs(step) do a[k], b[k] = v, v end
  a.at, a.duration = 1, 2
  b.at, b.duration = 2, 2
  return a, b
end

local steps = {
  down = { twice { action = "down", target = "north" } },
  slow = { twice { action = "slow", target = "north", latency = 0.05 } },
  partition = { twice { action = "partition", from = { "central" }, to = { "broker" } } },
  drop = { twice { action = "drop", probability = 1 } },
}
assert(steps[kind], "unknown kind " .. kind)
if kind == "slow" then
  steps.slow[2].latency = 0.2
end

return {
  name = "overlap",
  duration = 6,
  regions = { "north", "south" },
  catalog = { { sku = "MUG", name = "Mug", price = 8, stock = 100000 } },
  workload = {
    rate = 40,
    order = function(region, t)
      return { sku = "MUG", customer = math.random(2) == 1 and "probe" or "buyer" }
    end,
  },
  rules = {
    order = function(order)
      local state = ddbsim.node_state(order.region)
      if state ~= "up" and order.customer == "probe" then
        return false, state .. "_" .. math.floor(order.placed_at)
      end
      return true
    end,
  },
  failures = steps[kind],
}
