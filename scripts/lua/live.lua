-- live.lua - the default scenario of `ddbsim serve`: three regions with a
-- small shop, customer records routed to a home region by zip code with a
-- copy on the next region (a ring), and a gentle background workload, so
-- that the charts move while a person uses the API or the page.
--
--   ddbsim serve                                  this scenario, 127.0.0.1:8080
--   ddbsim serve --param naming=regions           regions called region_1..3, as
--                                                 the customer-records system has
--   ddbsim serve --param background=no            nothing happens but the API's calls
--
-- Zips 1000-39999 live on the first region, 40000-69999 on the second,
-- 70000-99999 on the third; the copies go 1 on 3, 2 on 1 and 3 on 2.
local shop = require "shop"

local naming = ddbsim.param("naming", "cities")
local background = ddbsim.param("background", "yes")
local duration = ddbsim.param("duration", 30 * 24 * 3600)
if naming ~= "cities" and naming ~= "regions" then
  error("--param naming=" .. naming .. ": cities or regions")
end
if background ~= "yes" and background ~= "no" then
  error("--param background=" .. background .. ": yes or no")
end

local regions = naming == "regions" and { "region_1", "region_2", "region_3" }
                or { "east", "middle", "west" }
local r1, r2, r3 = regions[1], regions[2], regions[3]
local quiet = background == "no"

-- Each region's copies live on the region before it in the ring: 1 on 3,
-- 2 on 1, 3 on 2.
local replica_of = { [r1] = r3, [r2] = r1, [r3] = r2 }

return shop.scenario {
  name = "live",
  description = "three regions, a small shop and customer records, for serve",
  duration = duration,
  regions = regions,

  catalog = {
    { sku = "LAPTOP", name = "Laptop 14\"", price = 999.99,
      components = { KEYBOARD = 1, WEBCAM = 1 }, stock = 1000000 },
    { sku = "KEYBOARD", name = "Keyboard", price = 49.99, stock = 1000000 },
    { sku = "WEBCAM", name = "Webcam", price = 59.00, stock = 1000000 },
    { sku = "MOUSE", name = "Mouse", price = 19.99, stock = 1000000 },
  },

  workload = {
    rate = quiet and 0 or 2, -- orders per second in each region
    order = shop.orders {
      products = { MOUSE = 40, KEYBOARD = 30, WEBCAM = 20, LAPTOP = 10 },
      quantity = { [1] = 90, [2] = 10 },
      customers = 500,
    },
    customers = {
      rate = quiet and 0 or 0.5,
      operation = shop.customer_ops {
        mix = { create = 60, update = 20, get = 10, find = 10 },
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
      { 1000, 39999, r1 }, { 40000, 69999, r2 }, { 70000, 99999, r3 },
    },
    customer_replicas = function(customer, home)
      return { replica_of[home] }
    end,
  },
}
