#!/bin/sh
# Bad input gets a clear error naming the file, line or field (exit 2), or,
# inside a run, rejects the one order it concerns; odd but valid names
# round-trip byte for byte.
. "$top_srcdir/tests/integration/lib.sh"

# ---- config -------------------------------------------------------------
ddbsim run -c "$TMP/missing.conf"
expect_rc 2 "missing config"
expect_err "missing.conf" "missing config names the file"

printf '[ddbsim]\ndata_dir = x\ncolour = blue\n' > "$TMP/bad.conf"
ddbsim run -c "$TMP/bad.conf"
expect_rc 2 "unknown key"
expect_err "bad.conf:3:" "unknown key names file and line"

printf '[ddbsim]\ndata_dir = ${DDBSIM_SURELY_UNSET_VAR}\n' > "$TMP/env.conf"
ddbsim run -c "$TMP/env.conf"
expect_rc 2 "unset variable"
expect_err "env.conf:2:" "unset variable names the line"
expect_err "DDBSIM_SURELY_UNSET_VAR" "unset variable is named"
pass "config errors name file and line"

# ---- plugins --------------------------------------------------------------
plugin_conf() { # SECTION PLUGIN
	printf '[ddbsim]\nplugin_dir = %s\ndata_dir = %s/pdata\n[%s]\nplugin = %s\n' \
		"$DDBSIM_PLUGIN_DIR" "$TMP" "$1" "$2" > "$TMP/p.conf"
}
plugin_conf central nosuch
ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
expect_rc 2 "missing plugin"
expect_err "nosuch.so" "missing plugin names the file"
expect_err "p.conf:4 [central]" "missing plugin names the config section"

plugin_conf regions memory
ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
expect_rc 2 "wrong kind"
expect_err "memory.so: plugin 'memory' is a transport plugin, a storage plugin is needed here" "wrong kind"

plugin_conf documents "$DDBSIM_TEST_PLUGINS/badabi.so"
ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
expect_rc 2 "other ABI"
expect_err "badabi.so: plugin ABI version 44, but this ddbsim has ABI version 3" "other ABI"

plugin_conf documents "$DDBSIM_TEST_PLUGINS/nosym.so"
ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
expect_rc 2 "no entry symbol"
expect_err "nosym.so: not a ddbsim plugin: no symbol ddbsim_plugin_entry" "no entry symbol"
pass "plugin errors name the file"

# A setting the plugin does not read: refused, with its line and the
# plugin's own settings, before that plugin opens anything.
rm -rf "$TMP/pdata"
plugin_conf central sqlite
printf 'synchronous = FULL\nsynchronus = OFF\n' >> "$TMP/p.conf"
ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
expect_rc 2 "misspelt storage setting"
expect_err "p.conf:7: [central]: plugin 'sqlite' has no setting 'synchronus' (its settings: path, synchronous, busy_timeout_ms)" "misspelt storage setting"
[ ! -e "$TMP/pdata/central.db" ] || fail "the central store was opened despite the bad setting"
plugin_conf transport memory
printf 'max_queu = 10\n' >> "$TMP/p.conf"
ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
expect_rc 2 "misspelt transport setting"
expect_err "p.conf:6: [transport]: plugin 'memory' has no setting 'max_queu' (its settings: max_queue, keep_queues)" "misspelt transport setting"
pass "a setting the plugin does not read is refused, naming its line"

# A value out of its form or range: refused at open, naming the key and what
# it allows; numbers are digits only (no sign where none is allowed).
for bad in "busy_timeout_ms = +5|option busy_timeout_ms = '+5': expected a whole number from 0 to" \
           "busy_timeout_ms = -1|option busy_timeout_ms = '-1': expected a whole number from 0 to" \
           "synchronous = SOMETIMES|option synchronous = 'SOMETIMES': expected OFF, NORMAL, FULL or EXTRA"; do
	rm -rf "$TMP/pdata"
	plugin_conf central sqlite
	echo "${bad%%|*}" >> "$TMP/p.conf"
	ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
	expect_rc 2 "${bad%%|*}"
	expect_err "${bad#*|}" "${bad%%|*}"
done
plugin_conf transport memory
echo "keep_queues = maybe" >> "$TMP/p.conf"
ddbsim run -c "$TMP/p.conf" "$SCRIPTS/ecommerce.lua"
expect_rc 2 "keep_queues = maybe"
expect_err "option keep_queues = 'maybe': expected yes or no" "keep_queues = maybe"
pass "a setting's value out of its form or range is refused, naming the key and what it allows"

# ---- scripts ---------------------------------------------------------------
write() { cat > "$TMP/$1"; }
base() { # a valid scenario; $1 is Lua inserted into the table
	cat <<LUA
local shop = require "shop"
return shop.scenario {
  duration = 5,
  regions = { "east", "west" },
  catalog = {
    { sku = "CAFE", name = "Café \"Ünïcødé\" 東京; DROP TABLE products;--", price = 3.5, stock = 100000 },
    { sku = "TEA", name = "Tea", price = 2, stock = 100000, components = { CAFE = 1 } },
  },
  $1
}
LUA
}

printf 'local x = = 1\n' | write syntax.lua
ddbsim run -c "$CONF" "$TMP/syntax.lua"
expect_rc 2 "syntax error"
expect_err "syntax.lua:1:" "syntax error names script and line"

printf 'local t = nil\n\nreturn t.x\n' | write runtime.lua
ddbsim run -c "$CONF" "$TMP/runtime.lua"
expect_rc 2 "runtime error"
expect_err "runtime.lua:3:" "runtime error names script and line"

base 'catalog2 = 1,' | write field.lua
ddbsim run -c "$CONF" "$TMP/field.lua"
expect_rc 2 "unknown field"
expect_err "catalog2" "unknown field is named"

sed 's/components = { CAFE = 1 }/components = { MILK = 1 }/' > "$TMP/component.lua" <<LUA
$(base '')
LUA
ddbsim run -c "$CONF" "$TMP/component.lua"
expect_rc 2 "unknown component"
expect_err "MILK" "unknown component is named"

ddbsim run -c "$CONF" "$SCRIPTS/ecommerce.lua" --param nonsense=1
expect_rc 2 "unknown parameter"
expect_err "unknown parameter 'nonsense'" "unknown parameter"
pass "script errors name script, line or field"

# A failing hook rejects its order, not the run.
base 'rules = { order = function(o)
    if o.customer == "boom" then error("no boom allowed") end
    return true
  end },
  workload = { rate = 20, order = function(region, t)
    local n = math.random(6)
    if n == 1 then return { sku = "CAFE", quantity = 1, customer = "boom" } end
    if n == 2 then return { sku = "NOPE", quantity = 1, customer = "x" } end
    if n == 3 then return { sku = "CAFE", quantity = 0, customer = "x" } end
    if n == 4 then return { sku = "CAFE", quantity = -3, customer = "x" } end
    if n == 5 then return { sku = "TEA", quantity = math.maxinteger, customer = "x" } end
    return { sku = "CAFE", quantity = 2, customer = "Zoë O'"'"'Brien; \"DROP TABLE orders;--\" 東京" }
  end },' | write hooks.lua
ddbsim run -c "$CONF" "$TMP/hooks.lua" --report "$TMP/h.json"
expect_rc 0 "run with failing hooks and bad orders"
expect_err "hooks.lua:" "hook error names the script"
expect_err "in hook rules.order: " "hook error names the hook"
expect_err "no boom allowed" "hook error has the message"
R="$TMP/h.json"
[ "$(json "$R" '.orders.rejected.rule_error // 0')" -gt 0 ] || fail "hook errors not counted"
[ "$(json "$R" '.orders.rejected.unknown_sku // 0')" -gt 0 ] || fail "unknown SKU not rejected"
[ "$(json "$R" '.orders.rejected.invalid_quantity // 0')" -gt 0 ] || fail "bad quantities not rejected"
[ "$(json "$R" .orders.accepted)" -gt 0 ] || fail "no valid order was accepted"
bad=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders WHERE quantity < 1 OR sku NOT IN ('CAFE', 'TEA')")
[ "$bad" = 0 ] || fail "$bad invalid orders reached the center"
pass "hook errors, unknown SKUs and zero, negative, overflowing quantities reject the order only"

# Quotes, semicolons and non-ASCII round-trip unchanged, through every store.
want="Zoë O'Brien; \"DROP TABLE orders;--\" 東京"
for db in east west central documents; do
	case $db in
	east|west) sql="SELECT DISTINCT customer FROM orders WHERE quantity = 2" ;;
	central) sql="SELECT DISTINCT customer FROM central_orders WHERE quantity = 2" ;;
	documents) sql="SELECT DISTINCT customer FROM order_product WHERE quantity = 2" ;;
	esac
	got=$(sqlite3 "$TMP/data/$db.db" "$sql")
	[ "$got" = "$want" ] || fail "$db: customer came back as '$got'"
done
name=$(sqlite3 "$TMP/data/central.db" "SELECT name FROM central_products WHERE sku = 'CAFE'")
[ "$name" = 'Café "Ünïcødé" 東京; DROP TABLE products;--' ] || fail "product name came back as '$name'"
[ "$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_products")" = 2 ] || fail "products table damaged"
pass "quotes, semicolons and non-ASCII round-trip byte for byte"
