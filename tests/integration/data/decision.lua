-- decision.lua - one customer write per row of the decision table, at
-- times chosen so that each meets the node states it needs:
--   t 0-2   both up              c1: written to east and west
--   t 2-4   west (replica) down  c2: east written, west queued
--   t 4-6   east (home) down     c3: east queued, west written
--   t 6-8   both down            c4: both queued, "unavailable"
-- east's records are copied to west.  Between the rows the workload only
-- reads.  At the end every copy must have converged.
local script = {
  { t = 1, op = { op = "create", id = "c1", zip = 10001, city = "Boston", state = "MA" } },
  { t = 3, op = { op = "create", id = "c2", zip = 10002, city = "Boston", state = "MA" } },
  { t = 5, op = { op = "create", id = "c3", zip = 10003, city = "Boston", state = "MA" } },
  { t = 7, op = { op = "create", id = "c4", zip = 10004, city = "Boston", state = "MA" } },
  { t = 7.5, op = { op = "update", id = "c1", email = "c1@example.com" } },
}
local next_step = 1

return {
  duration = 12,
  regions = { "east", "west" },
  catalog = { { sku = "PEN", name = "Pen", price = 1, stock = 100 } },
  workload = {
    rate = 0,
    order = function() return { sku = "PEN" } end,
    customers = {
      rate = 50,
      operation = function(t)
        local s = script[next_step]
        if s and t >= s.t then
          next_step = next_step + 1
          return s.op
        end
        return { op = "find", city = "boston" }
      end,
    },
  },
  rules = {
    customer_home = function() return "east" end,
    customer_replicas = function() return { "west" } end,
  },
  failures = {
    { at = 2, target = "west", action = "down", duration = 2 },
    { at = 4, target = "east", action = "down", duration = 2 },
    { at = 6, target = { "east", "west" }, action = "down", duration = 3 },
  },
}
