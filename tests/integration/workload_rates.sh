#!/bin/sh
# Workload rates mean what ddbsim-lua(7) says: a rate of 0 places no orders
# (a number, a region's entry, a region left out of the table, a function
# that returns 0), the same for customer operations; a rate above 1000000
# per second is an error naming the field, not a silent cap.
. "$top_srcdir/tests/integration/lib.sh"

# script NAME WORKLOAD: two regions, WORKLOAD is the workload table's body.
script() {
	cat > "$TMP/$1" <<LUA
return {
  duration = 3,
  regions = { "east", "west" },
  catalog = { { sku = "A", price = 1, stock = 1000000 } },
  workload = {
    order = function(region, t) return { sku = "A" } end,
    $2
  },
}
LUA
}

# orders REGION: the orders in that region's store after the run.
orders() { sqlite3 "$TMP/data/$1.db" "SELECT count(*) FROM orders"; }

script zero.lua 'rate = 0,'
ddbsim run -c "$CONF" "$TMP/zero.lua" --report "$TMP/zero.json"
expect_rc 0 "rate 0"
[ "$(json "$TMP/zero.json" .orders.generated)" = 0 ] ||
	fail "rate = 0 generated $(json "$TMP/zero.json" .orders.generated) orders"
pass "rate = 0 places no orders"

script table.lua 'rate = { east = 20, west = 0 },'
ddbsim run -c "$CONF" "$TMP/table.lua"
expect_rc 0 "rate table with a 0"
[ "$(orders west)" = 0 ] || fail "west, at rate 0, got $(orders west) orders"
[ "$(orders east)" -gt 20 ] || fail "east, at rate 20 for 3 s, got only $(orders east) orders"

script leftout.lua 'rate = { east = 20 },'
ddbsim run -c "$CONF" "$TMP/leftout.lua"
expect_rc 0 "region left out of the rate table"
[ "$(orders west)" = 0 ] || fail "west, left out of the rate table, got $(orders west) orders"
[ "$(orders east)" -gt 20 ] || fail "east got only $(orders east) orders"
pass "a region at 0 or left out of the rate table gets no orders"

# A function is asked again while it says 0, and orders start when it
# says more.
script fn.lua 'rate = function(region, t)
      if region == "west" or t < 1.5 then return 0 end
      return 20
    end,'
ddbsim run -c "$CONF" "$TMP/fn.lua"
expect_rc 0 "rate function"
[ "$(orders west)" = 0 ] || fail "west, whose rate function says 0, got $(orders west) orders"
[ "$(orders east)" -gt 5 ] || fail "east, at 20 from t=1.5, got only $(orders east) orders"
early=$(sqlite3 "$TMP/data/east.db" "SELECT count(*) FROM orders WHERE placed_at_us < 1500000")
[ "$early" = 0 ] || fail "east got $early orders while its rate was 0"
pass "a rate function that returns 0 places nothing until it returns more"

# Customer operations: the same.
cat > "$TMP/customers0.lua" <<'LUA'
return {
  duration = 3,
  regions = { "east", "west" },
  catalog = { { sku = "A", price = 1 } },
  workload = {
    rate = 0,
    order = function() return { sku = "A" } end,
    customers = { rate = 0, operation = function(t) return { op = "create", id = "c" .. t, zip = 1 } end },
  },
}
LUA
ddbsim run -c "$CONF" "$TMP/customers0.lua" --report "$TMP/c0.json"
expect_rc 0 "customer rate 0"
[ "$(json "$TMP/c0.json" .customers.operations)" = 0 ] ||
	fail "customers.rate = 0 made $(json "$TMP/c0.json" .customers.operations) operations"
pass "customers.rate = 0 makes no operations"

# ---- above the engine's limit: an error naming the field ---------------------
script fast.lua 'rate = 2000000,'
ddbsim run -c "$CONF" "$TMP/fast.lua"
expect_rc 2 "rate above the limit"
expect_err "fast.lua: workload.rate: must be a number of orders per second from 0 to 1000000, got 2000000" "rate above the limit"

script fasttable.lua 'rate = { east = 1, west = 1e7 },'
ddbsim run -c "$CONF" "$TMP/fasttable.lua"
expect_rc 2 "a region's rate above the limit"
expect_err "fasttable.lua: workload.rate.west: must be a number of orders per second from 0 to 1000000" "a region's rate above the limit"

sed 's/customers = { rate = 0,/customers = { rate = 1e9,/' "$TMP/customers0.lua" > "$TMP/fastcustomers.lua"
ddbsim run -c "$CONF" "$TMP/fastcustomers.lua"
expect_rc 2 "customer rate above the limit"
expect_err "fastcustomers.lua: workload.customers.rate: must be a number of operations per second from 0 to 1000000" "customer rate above the limit"

# A function that returns too much fails (the region waits a second), and
# places nothing.
script fastfn.lua 'rate = function(region, t) return 5e6 end,'
sed -i 's/duration = 3,/duration = 0.01,/' "$TMP/fastfn.lua"
ddbsim run -c "$CONF" "$TMP/fastfn.lua" --report "$TMP/ff.json"
expect_rc 0 "rate function above the limit"
expect_err "fastfn.lua:7: in hook workload.rate: returned 5000000: a rate is a number of orders per second from 0 to 1000000" "rate function above the limit"
[ "$(json "$TMP/ff.json" .orders.generated)" = 0 ] || fail "a rate above the limit placed orders"
pass "a rate above 1000000 per second is an error naming the field or the hook"
