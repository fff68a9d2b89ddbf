-- bench_pg.lua - make bench-postgres: three regions (one PostgreSQL
-- connection each, plus the center's: 4 in all), one product with stock for
-- everything, one unit per order, so every order is accepted and each does
-- the work of a real one: the conditional stock decrement, the order row and
-- the outbox event in the region, the central row, the order log.
--
--   ddbsim run tests/bench/bench_pg.lua --param orders=60000 -c PG.conf
-- rate: orders per second of engine time, all regions together (10,000 per
-- region, as in bench.lua); with the engine's 5 ms commit window it sets how
-- many orders share a group commit.
local orders = ddbsim.param("orders", 60000)
local rate = ddbsim.param("rate", 30000)
local regions = { "seattle", "boston", "denver" }

return {
  name = "bench_pg",
  duration = orders / rate,
  regions = regions,
  catalog = { { sku = "MOUSE", name = "Mouse", price = 25, stock = 1000000000 } },
  workload = {
    rate = rate / #regions,
    order = function(region, t)
      return { sku = "MOUSE", quantity = 1, customer = "c-" .. math.random(5000) }
    end,
  },
}
