-- small.lua - a short run for the MongoDB tests that put every store on
-- MongoDB (the stand-in answers in Python: a few hundred orders are enough):
-- three regions, components, orders beyond the stock, a restock, customer
-- records with replicas, and a region outage in the middle.
local shop = require "shop"

local regions = { "east", "middle", "west" }
local duration = ddbsim.param("duration", 8)

return shop.scenario {
  name = "mongo-small",
  duration = duration,
  regions = regions,

  catalog = {
    { sku = "LAPTOP", name = "Laptop 14\"", price = 999.99,
      components = { KEYBOARD = 1, WEBCAM = 1 }, stock = { east = 4, middle = 10, west = 3 } },
    { sku = "KEYBOARD", name = "Keyboard", price = 49.99, stock = 200 },
    { sku = "WEBCAM", name = "Webcam", price = 59, stock = 25 },
    { sku = "MOUSE", name = "Mouse \"Ünïcødé\"", price = 19.99, stock = 150 },
  },

  restocks = {
    { at = duration / 2, region = "west", sku = "LAPTOP", quantity = 10 },
  },

  workload = {
    rate = 12,
    order = shop.orders {
      products = { MOUSE = 40, KEYBOARD = 25, WEBCAM = 20, LAPTOP = 15 },
      quantity = { [1] = 75, [2] = 17, [5] = 8 },
      customers = 200,
    },
    customers = {
      rate = 6,
      operation = shop.customer_ops {
        mix = { create = 50, update = 25, delete = 5, get = 10, find = 10 },
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
    { at = duration / 4, target = "middle", action = "down", duration = duration / 4 },
  },
}
