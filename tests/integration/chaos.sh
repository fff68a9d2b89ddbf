#!/bin/sh
# Random failure schedules from seeds: every check holds in every run, each
# run is deterministic, and --runs prints failing seeds with the command
# that reproduces them.  CHAOS_RUNS (default 20) sets how many seeds.
. "$top_srcdir/tests/integration/lib.sh"

runs=${CHAOS_RUNS:-20}
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --runs "$runs" --seed 1
expect_rc 0 "chaos --runs $runs"
expect_out "$runs runs from seed 1: $runs passed, 0 failed" "chaos summary"
pass "$runs chaos seeds: every check holds"

for s in chaos.lua customers.lua; do
	ddbsim run -c "$CONF" "$SCRIPTS/$s" --seed 11 --check-determinism
	expect_rc 0 "$s --check-determinism"
	expect_out "deterministic: both runs are the same" "$s determinism"
done
pass "--check-determinism holds for chaos.lua and customers.lua"

# The schedule derived from the seed is printed on one line at the start.
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --seed 5
expect_rc 0 "chaos seed 5"
[ "$(grep -c '^failure schedule (16 steps):' "$TMP/out")" = 1 ] || fail "no schedule line"

# A failing check prints the seed and the command that reproduces it.
sed 's/^  failures = shop.random_schedule {/  checks = { ["fails on odd seeds"] = function(f) return f.orders.accepted % 2 == 0, "odd" end },\n  failures = shop.random_schedule {/' \
	"$SCRIPTS/chaos.lua" > "$TMP/failing.lua"
ddbsim run -c "$CONF" "$TMP/failing.lua" --runs 6 --seed 1 -q
expect_rc 1 "runs with a failing check"
grep -q '^FAIL seed [0-9]*: lua:fails on odd seeds' "$TMP/out" || { cat "$TMP/out"; fail "no FAIL line"; }
grep -q "reproduce: ddbsim run $TMP/failing.lua --seed [0-9]* -c $CONF" "$TMP/out" || fail "no reproduce line"
pass "failing seeds are printed with the command that reproduces them"
