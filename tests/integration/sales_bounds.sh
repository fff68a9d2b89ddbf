#!/bin/sh
# Numbers that validation accepts never overflow later: a run at the largest
# sales a scenario may make is checked and drained (exit 0), and the sums
# at the center are exact; one unit or one cent past a bound is refused at
# validation, naming the script and the field.  Before the bounds, a price
# of 10^13 passed validation, the sales report overflowed, and check and
# drain failed on that data directory for ever.
. "$top_srcdir/tests/integration/lib.sh"

max="$top_srcdir/tests/integration/data/max_sales.lua"

ddbsim run -c "$CONF" "$max" --report "$TMP/max.json"
expect_rc 0 "run at the largest sales"
revenue=$(sqlite3 "$TMP/data/central.db" "SELECT sum(quantity * unit_price_cents) FROM central_orders")
units=$(sqlite3 "$TMP/data/central.db" "SELECT sum(quantity) FROM central_orders")
[ "$units" = 10000000000 ] || fail "the run sold $units units, not every one of 10^10"
[ "$revenue" = 1000000000000000000 ] || fail "revenue at the center is $revenue, not 10^18"
[ "$(json "$TMP/max.json" '.checks[] | select(.name == "central_sales_match_regions") | .ok')" = true ] ||
	fail "central sales do not match at the largest sales"
pass "a run at the largest sales: 10^10 units, 10^18 cents, every check holds"

ddbsim check -c "$CONF"
expect_rc 0 "check on the largest sales"
ddbsim drain -c "$CONF"
expect_rc 0 "drain on the largest sales"
pass "check and drain on its data directory hold"

ddbsim run -c "$CONF" "$max" --param over=price -q
expect_rc 2 "a price one cent past the bound"
expect_err "max_sales.lua: catalog[1].price: must be a non-negative number of at most 1000000" \
	"the price past the bound is named"
ddbsim run -c "$CONF" "$max" --param over=units -q
expect_rc 2 "one unit past the bound"
expect_err "max_sales.lua: restocks[1].quantity: the stock of every product in every region and the restocks add up to more than 10000000000 units" \
	"the restock past the bound is named"
pass "one cent or one unit past a bound is refused at validation"

# What overflowed before: a price the old bound allowed, two orders whose
# sum passes 2^63 cents.  Refused at once; no data directory is left that
# check and drain cannot read.
cat > "$TMP/huge.lua" <<'LUA'
return {
  name = "huge", duration = 10, regions = { "a" },
  catalog = { { sku = "GOLD", name = "Gold", price = 10000000000000, stock = 1000000000 } },
  workload = { rate = 5, order = function() return { sku = "GOLD", quantity = 9000 } end },
}
LUA
ddbsim run -c "$CONF" "$TMP/huge.lua" -d "$TMP/huge" -q
expect_rc 2 "a price of 10^13"
expect_err "huge.lua: catalog[1].price: must be a non-negative number of at most 1000000" \
	"the price of 10^13 is named"
if [ -e "$TMP/huge/nodes" ]; then
	ddbsim check -c "$CONF" -d "$TMP/huge"
	[ "$rc" -ne 2 ] || { cat "$TMP/err"; fail "check cannot read what the refused run left"; }
fi
pass "the price that overflowed the sales report is refused at validation"
