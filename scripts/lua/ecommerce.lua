-- ecommerce.lua - the default scenario: three regions sell five products
-- for a minute.  Demand is higher than some regions' stock, so some orders
-- are rejected for insufficient stock; two restocks arrive halfway.
--
--   ddbsim run ecommerce.lua --seed 42

local shop = require "shop"

return shop.scenario {
  name = "ecommerce",
  description = "three regions, five products, a minute of orders",
  duration = 60, -- seconds during which orders arrive

  regions = { "seattle", "boston", "denver" },

  -- price in currency units; stock per region, or one number for every
  -- region; components: sku = how many a product contains
  catalog = {
    { sku = "LAPTOP", name = "Laptop 14\"", price = 999.99,
      components = { KEYBOARD = 1, WEBCAM = 1 },
      stock = { seattle = 100, boston = 120, denver = 60 } },
    { sku = "MONITOR", name = "Monitor 27\"", price = 249.50,
      stock = { seattle = 200, boston = 250, denver = 150 } },
    { sku = "KEYBOARD", name = "Keyboard", price = 49.99, stock = 600 },
    { sku = "MOUSE", name = "Mouse", price = 19.99,
      stock = { seattle = 800, boston = 600, denver = 250 } },
    { sku = "WEBCAM", name = "Webcam", price = 59.00,
      stock = { seattle = 300, boston = 250, denver = 150 } },
  },

  restocks = {
    { at = 30, region = "seattle", sku = "LAPTOP", quantity = 50 },
    { at = 40, region = "denver", sku = "MOUSE", quantity = 150 },
  },

  workload = {
    rate = { seattle = 20, boston = 15, denver = 10 }, -- orders per second
    order = shop.orders {
      products = { MOUSE = 35, KEYBOARD = 25, WEBCAM = 15, MONITOR = 15, LAPTOP = 10 },
      quantity = { [1] = 70, [2] = 20, [3] = 7, [10] = 3 }, -- a few bulk orders
      customers = 800,
    },
  },

  checks = {
    -- Once sync has drained, the center has counted every unit each region sold.
    ["central units per product equal the regions' sales"] = function(facts)
      local central = shop.get(facts, "central", "by_product") or {}
      local skus = {}
      for sku in pairs(central) do skus[sku] = true end
      for _, r in pairs(facts.regions or {}) do
        for sku in pairs(r.sold or {}) do skus[sku] = true end
      end
      for sku in shop.spairs(skus) do
        local at_center = shop.get(central, sku, "units") or 0
        local sold = shop.regions_sold(facts, sku)
        if at_center ~= sold then
          return false, string.format("%s: %d units at the center, %d sold in the regions",
                                      sku, at_center, sold)
        end
      end
      return true
    end,
  },
}
