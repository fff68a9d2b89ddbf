-- flash_sale.lua - a laptop flash sale: from t=10 to t=40 laptops are 10%
-- off and orders triple; no order may take more than 2 laptops.  Boston's
-- database goes down at t=20 for 15 seconds, in the middle of the rush.
--
--   ddbsim run flash_sale.lua --seed 42

local shop = require "shop"

local SALE_START, SALE_END = 10, 40 -- seconds
local SALE_DISCOUNT = 0.10
local LAPTOP_LIMIT = 2 -- per order
local LIST_PRICE = 999.99

local function on_sale(t)
  return t >= SALE_START and t < SALE_END
end

local base_rate = { seattle = 10, boston = 8, denver = 5 } -- orders per second
local normal_mix = shop.weighted { LAPTOP = 20, MOUSE = 40, KEYBOARD = 25, WEBCAM = 15 }
local sale_mix = shop.weighted { LAPTOP = 70, MOUSE = 15, KEYBOARD = 10, WEBCAM = 5 }

return shop.scenario {
  name = "flash_sale",
  description = "a laptop flash sale with a per-order limit and a regional outage",
  duration = 60,

  regions = { "seattle", "boston", "denver" },

  catalog = {
    { sku = "LAPTOP", name = "Laptop 14\"", price = LIST_PRICE,
      components = { KEYBOARD = 1, WEBCAM = 1 },
      stock = { seattle = 500, boston = 400, denver = 250 } },
    { sku = "KEYBOARD", name = "Keyboard", price = 49.99, stock = 400 },
    { sku = "MOUSE", name = "Mouse", price = 19.99, stock = 500 },
    { sku = "WEBCAM", name = "Webcam", price = 59.00, stock = 200 },
  },

  workload = {
    rate = function(region, t)
      return on_sale(t) and base_rate[region] * 3 or base_rate[region]
    end,
    order = shop.orders {
      products = function(region, t)
        return on_sale(t) and sale_mix() or normal_mix()
      end,
      quantity = {
        LAPTOP = { [1] = 60, [2] = 25, [3] = 10, [4] = 5 }, -- some try to buy more than 2
        default = { [1] = 80, [2] = 20 },
      },
      customers = 2000,
    },
  },

  rules = {
    order = function(order)
      if order.sku ~= "LAPTOP" then
        return true
      end
      if order.quantity > LAPTOP_LIMIT then
        return false, "limit_per_customer"
      end
      if on_sale(order.placed_at) then
        return { unit_price = order.unit_price * (1 - SALE_DISCOUNT) }
      end
      return true
    end,
  },

  failures = {
    { at = 20, target = "boston", action = "down", duration = 15 },
  },

  checks = {
    -- The rule ran before every order: no laptop order above the limit
    -- reached the center.
    ["laptop orders respect the per-order limit"] = function(facts)
      local p = shop.get(facts, "central", "by_product", "LAPTOP") or {}
      local orders, units = p.orders or 0, p.units or 0
      if units > LAPTOP_LIMIT * orders then
        return false, string.format("%d laptops in %d orders: more than %d per order",
                                    units, orders, LAPTOP_LIMIT)
      end
      return true
    end,
    -- Every laptop was sold at the list price or at the sale price.
    ["laptops sold at the list or the sale price"] = function(facts)
      local p = shop.get(facts, "central", "by_product", "LAPTOP") or {}
      local units, revenue = p.units or 0, p.revenue_cents or 0
      local list = math.floor(LIST_PRICE * 100 + 0.5)
      local sale = math.floor(LIST_PRICE * (1 - SALE_DISCOUNT) * 100 + 0.5)
      -- revenue = sale * a + list * b with a + b = units, a >= 0, b >= 0
      local off = list * units - revenue
      if off < 0 or off % (list - sale) ~= 0 or off // (list - sale) > units then
        return false, string.format("%d laptops for %d cents: not a mix of %d and %d",
                                    units, revenue, list, sale)
      end
      return true
    end,
  },
}
