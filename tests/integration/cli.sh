#!/bin/sh
# The command line: help, version, usage errors (exit 2), plugins listing.
. "$top_srcdir/tests/integration/lib.sh"

ddbsim --help
expect_rc 0 "--help"
expect_out "Usage: ddbsim COMMAND" "--help"
expect_out "drain" "--help lists drain"
ddbsim run --help
expect_rc 0 "run --help"
ddbsim --version
expect_rc 0 "--version"
expect_out "plugin ABI 3" "--version"

ddbsim
expect_rc 2 "no command"
expect_err "no command given" "no command"
ddbsim fly
expect_rc 2 "unknown command"
expect_err "unknown command 'fly'" "unknown command"
ddbsim run --bogus
expect_rc 2 "unknown option"
expect_err "unknown option '--bogus'" "unknown option"
ddbsim run --seed
expect_rc 2 "missing value"
expect_err "needs a value" "missing value"
ddbsim run --seed -4
expect_rc 2 "negative seed"
expect_err "--seed needs a whole number" "negative seed"
ddbsim run --seed 99999999999999999999999
expect_rc 2 "seed overflow"
ddbsim run --batch 0
expect_rc 2 "batch 0"
ddbsim run a.lua b.lua
expect_rc 2 "two scenarios"
expect_err "unexpected argument 'b.lua'" "two scenarios"
pass "usage errors exit 2 with a message"

ddbsim plugins -c "$CONF"
expect_rc 0 "plugins"
grep -E '^sqlite +[^ ]+ +3 +storage +regional,central,documents ' "$TMP/out" >/dev/null ||
	{ cat "$TMP/out"; fail "plugins: sqlite line"; }
grep -A1 -E '^sqlite ' "$TMP/out" | grep -qx '  settings: path, synchronous, busy_timeout_ms' ||
	{ cat "$TMP/out"; fail "plugins: sqlite's settings"; }
grep -E '^memory +[^ ]+ +3 +transport ' "$TMP/out" >/dev/null || { cat "$TMP/out"; fail "plugins: memory line"; }
pass "plugins lists sqlite and memory with version, ABI, kind and roles"

# check on a data directory no run has used: a clear error.
ddbsim check -c "$CONF" -d "$TMP/nothing-here"
expect_rc 2 "check on empty dir"
expect_err "nothing-here/nodes" "check names the missing file"
pass "check on an unused data directory names what is missing"

# Numeric options are parsed strictly: digits only for whole numbers (no
# blank, sign or base prefix), plain decimals for seconds; the error names
# the option and the value.  (A blank used to let strtoull through: --seed
# ' -5' became 18446744073709551611.)
for bad in ' 5' ' -5' '	7' '+5' '5 ' '0x10' '1e3' ''; do
	ddbsim run "$TMP/no-such.lua" -c "$CONF" --seed "$bad"
	expect_rc 2 "--seed '$bad'"
	expect_err "--seed needs a whole number from 0 to 2^64-1 (digits only), not '$bad'" "--seed '$bad'"
done
ddbsim run "$TMP/no-such.lua" -c "$CONF" --seed 18446744073709551616
expect_rc 2 "--seed 2^64"
expect_err "--seed needs a whole number" "--seed 2^64"
for bad in ' 3' '-1' '03x' '1000001'; do
	ddbsim run "$TMP/no-such.lua" -c "$CONF" --runs "$bad"
	expect_rc 2 "--runs '$bad'"
	expect_err "--runs needs a whole number from 1 to 1000000 (digits only), not '$bad'" "--runs '$bad'"
done
for bad in ' 7' '257' '+1'; do
	ddbsim run "$TMP/no-such.lua" -c "$CONF" --batch "$bad"
	expect_rc 2 "--batch '$bad'"
	expect_err "--batch needs a whole number from 1 to 256 (digits only), not '$bad'" "--batch '$bad'"
done
for opt in --latency --jitter; do
	for bad in ' 0.5' '-0' '0x1p2' '1e2' 'inf' 'nan' '3600.5' '.' '1..2' ''; do
		ddbsim node set boston slow --latency 0.1 "$opt" "$bad" -c "$CONF" -d "$TMP/nothing-here"
		expect_rc 2 "$opt '$bad'"
		expect_err "$opt needs seconds from 0 to 3600 (a decimal such as 0.25), not '$bad'" "$opt '$bad'"
	done
done
ddbsim run "$TMP/no-such.lua" -c "$CONF" --latency 1
expect_rc 2 "--latency with run"
expect_err "--latency and --jitter go with node set NAME slow" "--latency with run"
pass "numeric options are strict and their errors name the option"

# --runs N from seed S may not go past 2^64-1 (it used to wrap to seed 0).
cat > "$TMP/tiny.lua" <<'LUA'
local shop = require "shop"
return shop.scenario {
  name = "tiny", duration = 1, regions = { "north" },
  catalog = { { sku = "A", name = "A", price = 1, stock = 100 } },
  workload = { rate = 5, order = shop.orders { products = { A = 1 }, quantity = { [1] = 1 }, customers = 3 } },
}
LUA
ddbsim run "$TMP/tiny.lua" -c "$CONF" -d "$TMP/wrap" --runs 3 --seed 18446744073709551614 -q
expect_rc 2 "--runs past 2^64-1"
expect_err "--runs 3 from --seed 18446744073709551614 would go past the last seed, 2^64-1 (at most --runs 2 from that seed)" \
	"--runs past 2^64-1"
[ ! -e "$TMP/wrap" ] || fail "--runs past 2^64-1 ran anyway"
ddbsim run "$TMP/tiny.lua" -c "$CONF" -d "$TMP/wrap" --runs 2 --seed 18446744073709551614 -q
expect_rc 0 "--runs up to 2^64-1"
expect_out "2 runs from seed 18446744073709551614: 2 passed, 0 failed" "--runs up to 2^64-1"
pass "--runs N --seed S stops at 2^64-1 and says so"

# --report to a path that cannot be written fails before the run: nothing
# runs, the data directory is not even created.  A run that fails leaves an
# existing report as it was.
for bad in "$TMP/no/such/dir/r.json" "$TMP"; do
	ddbsim run "$TMP/tiny.lua" -c "$CONF" -d "$TMP/rdata" --report "$bad"
	expect_rc 2 "--report $bad"
	expect_err "ddbsim: --report $bad" "--report $bad names the path"
	[ ! -e "$TMP/rdata" ] || fail "--report $bad: the run started anyway"
	! grep -q "ddbsim run report" "$TMP/out" || fail "--report $bad: the run started anyway"
done
echo old > "$TMP/r.json"
echo 'return {' > "$TMP/broken.lua"
ddbsim run "$TMP/broken.lua" -c "$CONF" -d "$TMP/rdata" --report "$TMP/r.json"
expect_rc 2 "a run that fails, with --report"
expect_err "broken.lua" "a run that fails, with --report"
[ "$(cat "$TMP/r.json")" = old ] || fail "a failed run replaced the existing report"
[ ! -e "$TMP/r.json.tmp" ] || fail "a failed run left $TMP/r.json.tmp"
ddbsim run "$TMP/tiny.lua" -c "$CONF" -d "$TMP/rdata" --report "$TMP/r.json" -q
expect_rc 0 "a run with --report"
[ "$(json "$TMP/r.json" .all_checks_hold)" = true ] || fail "the report was not written"
[ ! -e "$TMP/r.json.tmp" ] || fail "the run left $TMP/r.json.tmp"
ddbsim run "$TMP/tiny.lua" -c "$CONF" -d "$TMP/rdata" --runs 2 --report "$TMP/r.json"
expect_rc 2 "--report with --runs"
expect_err "--report goes with a single run, drain or check" "--report with --runs"
pass "--report to an unwritable path fails before the run, naming it"
