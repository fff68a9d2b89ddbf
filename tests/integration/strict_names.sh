#!/bin/sh
# Names are valid UTF-8 at input, so the JSON report is always valid JSON:
# a name that is not is an error naming the script and the field (or the
# hook that returned it).  Every limit on what a script gives is an error
# naming the script and the field.
. "$top_srcdir/tests/integration/lib.sh"

# script NAME LUA: a valid scenario, LUA inside its table (after catalog).
script() {
	cat > "$TMP/$1" <<LUA
return {
  duration = 2,
  regions = { "east", "west" },
  catalog = { { sku = "A", name = "Caf\u{e9}", price = 1, stock = 100000 } },
  $2
}
LUA
}
# valid_json FILE WHAT: JSON text is UTF-8 (jq itself lets invalid bytes
# through, replacing them).
valid_json() {
	iconv -f UTF-8 -t UTF-8 "$1" > /dev/null 2>&1 || fail "$2: $1 is not UTF-8"
	jq -e . "$1" > /dev/null 2>&1 || fail "$2: $1 is not valid JSON"
}

# ---- UTF-8 at input ------------------------------------------------------------
script name.lua 'catalog = { { sku = "A", price = 1 }, { sku = "B", name = "caf\xe9", price = 1 } },
  workload = { rate = 1, order = function() return { sku = "A" } end },'
sed -i '4d' "$TMP/name.lua" # the table's own catalog
ddbsim run -c "$CONF" "$TMP/name.lua"
expect_rc 2 "product name not UTF-8"
expect_err "name.lua: catalog[2].name: not valid UTF-8" "product name not UTF-8"

script sku.lua 'workload = { rate = 1, order = function() return { sku = "A" } end },
  restocks = { { at = 1, region = "east", sku = "\xff", quantity = 1 } },'
ddbsim run -c "$CONF" "$TMP/sku.lua"
expect_rc 2 "restock sku not UTF-8"
expect_err "sku.lua: restocks[1].sku: not valid UTF-8" "restock sku not UTF-8"

script checkname.lua 'workload = { rate = 1, order = function() return { sku = "A" } end },
  checks = { ["caf\xe9"] = function(f) return true end },'
ddbsim run -c "$CONF" "$TMP/checkname.lua" --report "$TMP/cn.json"
expect_rc 2 "check name not UTF-8"
expect_err 'checkname.lua: checks["caf?"]: the name is not valid UTF-8' "check name not UTF-8"
pass "names given in the scenario table must be UTF-8, naming the field"

# Names returned by hooks: an error of that hook, and the report stays JSON.
script hooks.lua 'workload = {
    rate = 20,
    order = function(region, t)
      if math.random(2) == 1 then return { sku = "A", customer = "Zo\xeb" } end
      return { sku = "A", quantity = math.random(3) }
    end,
    customers = { rate = 10, operation = function(t)
      return { op = "create", id = "c\xc3", zip = 1 }
    end },
  },
  rules = { order = function(o)
    if o.quantity == 2 then return false, "too \xff many" end
  end },
  checks = {
    ["bad detail"] = function(f) return false, "caf\xe9" end,
    ["errors"] = function(f) error("caf\xe9") end,
  },'
ddbsim run -c "$CONF" "$TMP/hooks.lua" --report "$TMP/h.json"
expect_rc 1 "names from hooks"
valid_json "$TMP/h.json" "names from hooks"
expect_err "in hook workload.order: customer: not valid UTF-8" "order customer not UTF-8"
expect_err "in hook workload.customers.operation: customer.id: not valid UTF-8" "customer id not UTF-8"
expect_err "in hook rules.order: the reason must be valid UTF-8" "reason not UTF-8"
[ "$(json "$TMP/h.json" '.orders.rejected.rule_error')" -gt 0 ] || fail "bad names did not count as rule_error"
[ "$(json "$TMP/h.json" '.customers.rejected.rule_error')" -gt 0 ] || fail "a bad customer id was not rejected"
[ "$(json "$TMP/h.json" '.customers.created')" = 0 ] || fail "a customer with a bad id was created"
json "$TMP/h.json" '.checks[] | select(.name == "lua:bad detail") | .detail' | grep -q "the detail must be valid UTF-8" ||
	fail "a check's detail that is not UTF-8 was not refused"
[ "$(json "$TMP/h.json" '.checks[] | select(.name == "lua:errors") | .detail' | sed 's/.*: //')" = "caf?" ] ||
	fail "an error message that is not UTF-8 was not scrubbed"
pass "names from hooks must be UTF-8 (an error of the hook); the report is valid JSON"

# The report is JSON even when the script's path is not UTF-8.
script plain.lua 'workload = { rate = 5, order = function() return { sku = "A" } end },'
odd=$(printf '%s/odd\377name.lua' "$TMP")
cp "$TMP/plain.lua" "$odd"
ddbsim run -c "$CONF" "$odd" --report "$TMP/odd.json"
expect_rc 0 "a path that is not UTF-8"
valid_json "$TMP/odd.json" "a path that is not UTF-8"
pass "the report is valid JSON whatever the script's path"

# ---- limits, each naming the script and the field ---------------------------
regions=$(i=1; while [ $i -le 62 ]; do printf '"r%d", ' $i; i=$((i + 1)); done)
script regions.lua "workload = { rate = 1, order = function() return { sku = \"A\" } end },"
sed -i "s/regions = { \"east\", \"west\" },/regions = { $regions },/; s/stock = 100000//" "$TMP/regions.lua"
ddbsim run -c "$CONF" "$TMP/regions.lua"
expect_rc 2 "62 regions"
expect_err "regions.lua: regions: at most 61 regions (64 nodes with central, documents and broker), got 62" "62 regions"

steps=$(i=1; while [ $i -le 129 ]; do printf '{ at = %d, target = "east", action = "down", duration = 0.5 }, ' $i; i=$((i + 1)); done)
script steps.lua "workload = { rate = 1, order = function() return { sku = \"A\" } end },
  failures = { $steps },"
ddbsim run -c "$CONF" "$TMP/steps.lua"
expect_rc 2 "258 failure steps"
expect_err "steps.lua: failures[129]: more than 256 failure steps in all" "258 failure steps"

long=$(printf '%092d' 0)
script longcheck.lua "workload = { rate = 1, order = function() return { sku = \"A\" } end },
  checks = { [\"$long\"] = function(f) return true end },"
ddbsim run -c "$CONF" "$TMP/longcheck.lua"
expect_rc 2 "a check name of 92 bytes"
expect_err "longcheck.lua: checks[\"0000000000000000000000000000000000000000...\"]: the name is too long (92 bytes, at most 91)" "a check name of 92 bytes"

script replication.lua 'workload = { rate = 1, order = function() return { sku = "A" } end,
    customers = { rate = 1, replication = 9, operation = function(t) return { op = "get", id = "x" } end } },'
sed -i 's/regions = { "east", "west" },/regions = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" },/; s/stock = 100000//' "$TMP/replication.lua"
ddbsim run -c "$CONF" "$TMP/replication.lua"
expect_rc 2 "9 replicas"
expect_err "replication.lua: workload.customers.replication: at most 8 replicas, got 9" "9 replicas"
pass "limits on regions, failure steps, check names and replicas name the script and the field"
