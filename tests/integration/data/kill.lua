-- kill.lua - a busy three-region run for the kill -9 test: a few thousand
-- orders, some beyond stock, long enough to be killed in the middle.
local shop = require "shop"
return shop.scenario {
  name = "kill",
  duration = 20,
  regions = { "seattle", "boston", "denver" },
  catalog = {
    { sku = "LAPTOP", name = "Laptop", price = 999.99, components = { KEYBOARD = 1 }, stock = 300 },
    { sku = "KEYBOARD", name = "Keyboard", price = 49.99, stock = 2000 },
    { sku = "MOUSE", name = "Mouse", price = 19.99, stock = 3000 },
  },
  workload = {
    rate = 150,
    order = shop.orders {
      products = { MOUSE = 50, KEYBOARD = 30, LAPTOP = 20 },
      quantity = { [1] = 80, [2] = 15, [5] = 5 },
      customers = 500,
    },
  },
}
