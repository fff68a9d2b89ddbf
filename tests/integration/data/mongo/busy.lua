-- busy.lua - a busy three-region run for the MongoDB restart test: long
-- enough (several seconds of wall time with the documents on the stand-in)
-- that the server can be stopped and started again while it goes on.
local shop = require "shop"
return shop.scenario {
  name = "mongo-busy",
  duration = ddbsim.param("duration", 25),
  regions = { "seattle", "boston", "denver" },
  catalog = {
    { sku = "LAPTOP", name = "Laptop", price = 999.99, components = { KEYBOARD = 1 }, stock = 500 },
    { sku = "KEYBOARD", name = "Keyboard", price = 49.99, stock = 4000 },
    { sku = "MOUSE", name = "Mouse", price = 19.99, stock = 6000 },
  },
  workload = {
    rate = 250,
    order = shop.orders {
      products = { MOUSE = 50, KEYBOARD = 30, LAPTOP = 20 },
      quantity = { [1] = 85, [2] = 12, [5] = 3 },
      customers = 2000,
    },
  },
}
