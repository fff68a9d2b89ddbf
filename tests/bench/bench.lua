-- bench.lua - the benchmark's workload: one region, one product with
-- stock for everything, one unit per order, so every order is accepted and
-- ddbsim does the same per-order work as the plain SQLite loop beside it
-- (plus the central sync and the order log it adds).
--
--   ddbsim run tests/bench/bench.lua --param orders=200000
local orders = ddbsim.param("orders", 200000)
-- Orders per second of engine time: enough that the system is saturated
-- (every sync tick has a full batch to move), as a throughput bench needs.
local rate = ddbsim.param("rate", 100000)

return {
  name = "bench",
  duration = orders / rate,
  regions = { "bench" },
  catalog = { { sku = "MOUSE", name = "Mouse", price = 25, stock = 1000000000 } },
  workload = {
    rate = rate,
    order = function(region, t)
      return { sku = "MOUSE", quantity = 1, customer = "c-" .. math.random(5000) }
    end,
  },
}
