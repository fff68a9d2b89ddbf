-- report.lua - a run with something on every chart of the HTML report
-- (tests/integration/report_html.sh): orders rejected by a rule and for
-- stock, a region down from t=4 to t=9 (customer writes queued for it), a
-- slow center, and a rule's reason and a Lua check's name and detail that
-- hold markup, which the report must show as text.  --param fail=always (default), some (fails when
-- the accepted orders are 2 modulo 4: seeds 1, 2 and 5 of 1 to 6) or never.
local shop = require "shop"
local fail = ddbsim.param("fail", "always")

local regions = { "north", "south", "west" }
return shop.scenario {
  duration = 14,
  regions = regions,
  catalog = {
    { sku = "LAMP", name = "Lamp", price = 30, stock = 400 },
    { sku = "BULB", name = "Bulb", price = 2.5, stock = 5000 },
  },
  workload = {
    rate = { north = 40, south = 25, west = 15 },
    order = shop.orders {
      products = { LAMP = 2, BULB = 3 },
      quantity = { [1] = 80, [2] = 12, [5] = 8 },
      customers = 200,
    },
    customers = {
      rate = 10,
      operation = shop.customer_ops {
        places = { { 1000, 39999, "Leeds", "WY" }, { 40000, 69999, "York", "NY" },
                   { 70000, 99999, "Bath", "SO" } },
      },
    },
  },
  rules = {
    order = function(order)
      if order.quantity > 4 then
        return false, "<i>over_limit</i>" -- markup: the charts' legend shows it as text
      end
      return true
    end,
    customer_home = shop.zip_home { { 1000, 39999, "north" }, { 40000, 69999, "south" },
                                    { 70000, 99999, "west" } },
    customer_replicas = shop.ring_replicas(regions, 1),
  },
  failures = {
    shop.outage("south", 4, 5),
    { at = 6, duration = 3, target = "central", action = "slow", latency = 0.05, jitter = 0.01 },
  },
  checks = {
    ["<script>window.__xss=1</script>"] = function(facts)
      local accepted = facts.orders.accepted
      if fail == "always" or (fail == "some" and accepted % 4 == 2) then
        return false, string.format('<img src=x onerror="window.__xss=1"> %d orders, ' ..
                                    'first rows: <b>LAMP</b> & BULB', accepted)
      end
      return true
    end,
  },
}
