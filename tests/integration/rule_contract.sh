#!/bin/sh
# One rule contract for every hook (ddbsim-lua(7), THE RULE CONTRACT):
# nothing or true accepts; false or nil, with a reason or without, rejects
# (the report counts rule:REASON, or rule:rejected); the hook's own answer
# (a table of changes, a home region, a list of replicas) accepts with it;
# anything else is an error of the hook (rule_error).  Checks read their
# result the same way: false or nil and a detail fails with that detail.
. "$top_srcdir/tests/integration/lib.sh"

cat > "$TMP/contract.lua" <<'LUA'
-- Orders: quantity 1 is accepted (nothing returned), 2 is rejected with
-- nil, "two", 3 with a bare nil, 4 with false, "four", 5 with true, 6 is
-- changed to 1 by a table, 7 returns a number (an error).
-- Customers: the zip picks how customer_home and customer_replicas answer.
local n, m = 0, 0
return {
  duration = 3,
  regions = { "east", "west" },
  catalog = { { sku = "A", price = 1, stock = 1000000 } },
  workload = {
    rate = 20,
    order = function(region, t)
      n = n % 7 + 1
      return { sku = "A", quantity = n }
    end,
    customers = {
      rate = 20,
      operation = function(t)
        m = m + 1
        return { op = "create", id = "c" .. m, zip = m % 6 }
      end,
    },
  },
  rules = {
    order = function(o)
      local q = o.quantity
      if q == 1 then return end
      if q == 2 then return nil, "two" end
      if q == 3 then return nil end
      if q == 4 then return false, "four" end
      if q == 5 then return true end
      if q == 6 then return { quantity = 1 } end
      return 7
    end,
    customer_home = function(c)
      if c.zip == 0 then return nil, "no_home" end      -- rejected
      if c.zip == 1 then return false, "blocked" end    -- rejected
      if c.zip == 2 then return end                     -- home: the first region
      return "west"
    end,
    customer_replicas = function(c, home)
      if c.zip == 3 then return nil, "no_replica" end   -- rejected
      if c.zip == 4 then return end                     -- the default replicas
      return { home == "east" and "west" or "east" }
    end,
  },
  checks = {
    ["nil and a detail"] = function(f) return nil, "the detail" end,
    ["nothing"] = function(f) end,
  },
}
LUA
ddbsim run -c "$CONF" "$TMP/contract.lua" --report "$TMP/r.json"
expect_rc 1 "two checks fail"
R="$TMP/r.json"
count() { json "$R" "$1 // 0"; }

[ "$(count '.orders.rejected["rule:two"]')" -gt 0 ] || fail "rules.order: nil, \"two\" did not reject"
[ "$(count '.orders.rejected["rule:rejected"]')" -gt 0 ] || fail "rules.order: a bare nil did not reject"
[ "$(count '.orders.rejected["rule:four"]')" -gt 0 ] || fail "rules.order: false, \"four\" did not reject"
[ "$(count '.orders.rejected.rule_error')" -gt 0 ] || fail "rules.order: a number was not an error"
expect_err "contract.lua:25: in hook rules.order: returned a number: return true (or nothing) to accept, false (or nil) and a reason to reject, or a table of changes" "rules.order error"
bad=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders WHERE quantity NOT IN (1, 5)")
[ "$bad" = 0 ] || fail "$bad rejected orders reached the center"
ones=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders WHERE quantity = 1")
fives=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders WHERE quantity = 5")
[ "$ones" -gt 0 ] && [ "$fives" -gt 0 ] || fail "accepted orders missing: $ones of 1, $fives of 5"
pass "rules.order: nothing and true accept, nil and false reject alike, a table changes, a number is an error"

[ "$(count '.customers.rejected["rule:no_home"]')" -gt 0 ] || fail "customer_home: nil, reason did not reject"
[ "$(count '.customers.rejected["rule:blocked"]')" -gt 0 ] || fail "customer_home: false, reason did not reject"
[ "$(count '.customers.rejected["rule:no_replica"]')" -gt 0 ] || fail "customer_replicas: nil, reason did not reject"
[ "$(count '.customers.rejected["rule:rejected"]')" = 0 ] || fail "customer_home: returning nothing rejected"
[ "$(count '.customers.rejected.rule_error')" = 0 ] || fail "a customer hook failed: $(cat "$TMP/err")"
# zip 2: home is the first region (east), replica west (the default ring);
# zip 4: home west, default replica east; zip 5: home west, replica east.
homes=$(sqlite3 "$TMP/data/east.db" "SELECT count(*) FROM customers WHERE zip_prefix = 2 AND home = 'east'")
[ "$homes" -gt 0 ] || fail "customer_home returning nothing did not make the first region home"
copies=$(sqlite3 "$TMP/data/west.db" "SELECT count(*) FROM customers WHERE zip_prefix = 2")
[ "$copies" = "$homes" ] || fail "zip 2: $homes homes in east, $copies replicas in west"
four=$(sqlite3 "$TMP/data/east.db" "SELECT count(*) FROM customers WHERE zip_prefix = 4 AND home = 'west'")
[ "$four" -gt 0 ] || fail "customer_replicas returning nothing did not give the default replica"
pass "customer_home and customer_replicas: nil and false reject alike, nothing accepts with the default"

[ "$(json "$R" '.checks[] | select(.name == "lua:nil and a detail") | .detail')" = "the detail" ] ||
	fail "a check returning nil, detail: $(json "$R" '.checks[] | select(.name == "lua:nil and a detail")')"
json "$R" '.checks[] | select(.name == "lua:nothing") | .detail' | grep -q "returned nothing: a check returns true" ||
	fail "a check returning nothing did not fail"
pass "checks: nil and a detail fails with the detail, as false does; nothing fails"
