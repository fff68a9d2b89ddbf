-- restart.lua - a steady three-region run for the broker-restart test:
-- orders arrive all along, so that the broker is stopped while events are
-- being published, confirmed, delivered and acked.  Stock covers every order.
local shop = require "shop"
return shop.scenario {
  name = "rabbitmq-restart",
  duration = 60,
  regions = { "seattle", "boston", "denver" },
  catalog = {
    { sku = "KEYBOARD", name = "Keyboard", price = 49.99, stock = 1000000 },
    { sku = "MOUSE", name = "Mouse", price = 19.99, stock = 1000000 },
  },
  workload = {
    rate = 40,
    order = shop.orders {
      products = { MOUSE = 60, KEYBOARD = 40 },
      quantity = { [1] = 90, [2] = 10 },
      customers = 500,
    },
  },
}
