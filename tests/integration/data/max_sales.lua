-- max_sales.lua - the largest sales validation lets a run make: one product
-- at the highest price (10^6), every unit a run may sell (10^10: stock in
-- two regions plus a restock) sold in orders of 10^9 units, the most an
-- order may take.  Revenue at the center: 10^18 cents.
--   --param over=price   the price one cent past the bound
--   --param over=units   the restock one unit past the bound
local over = ddbsim.param("over", "none")
local price = over == "price" and 1000000.01 or 1000000
local restock = over == "units" and 1000000001 or 1000000000

return {
  name = "max_sales",
  duration = 2,
  regions = { "a", "b" },
  catalog = {
    { sku = "GOLD", name = "Gold bar", price = price, stock = { a = 6000000000, b = 3000000000 } },
  },
  restocks = { { at = 0.5, region = "b", sku = "GOLD", quantity = restock } },
  workload = {
    rate = 20,
    order = function(region, t)
      return { sku = "GOLD", quantity = 1000000000, customer = "c-" .. region }
    end,
  },
}
