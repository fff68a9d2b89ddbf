#!/bin/sh
# Parallel sweeps and shrinking, on the test plugin "buggy" (tests/plugins/
# buggy/buggy.c: the SQLite plugin with a center apply that is not idempotent and
# customer writes where the last one wins):
# - chaos.lua fails some seeds, the same ones with --jobs 1 and --jobs 2,
#   with the same output line for line;
# - a failing seed's stores are kept as DATA_DIR/seed-S (and still fail
#   `ddbsim check`), the passing seeds' and the workers' are removed;
# - --shrink brings a failing seed down to at most 2 fault steps, writes a
#   scenario that fails the same check when run on its own, and writes the
#   same file whatever --jobs is;
# - the progress line shows on a terminal only, and not with -q.
. "$top_srcdir/tests/integration/lib.sh"

[ -e "${DDBSIM_BUGGY_PLUGIN_DIR:-}/buggy.so" ] || { echo "SKIP: no buggy test plugin (no SQLite)"; exit 77; }

BUGGY="$TMP/buggy.conf"
cat > "$BUGGY" <<CONF
[ddbsim]
plugin_dir = \${DDBSIM_PLUGIN_DIR}:\${DDBSIM_BUGGY_PLUGIN_DIR}
data_dir = $TMP/data

[transport]
plugin = memory

[regions]
plugin = buggy

[central]
plugin = buggy

[documents]
plugin = sqlite
CONF

runs=${SWEEP_RUNS:-12}
sweep() { # JOBS: --runs from seed 1 into $TMP/sweep, output in $TMP/jJOBS
	rm -rf "$TMP/sweep"
	ddbsim run -c "$BUGGY" "$SCRIPTS/chaos.lua" --runs "$runs" --seed 1 --jobs "$1" -d "$TMP/sweep"
	expect_rc 1 "buggy sweep --jobs $1"
	cp "$TMP/out" "$TMP/j$1"
}
sweep 2
kept=$(ls "$TMP/sweep" | grep -c '^seed-' || true)
sweep 1
grep '^FAIL seed' "$TMP/j1" > "$TMP/failing"
nfail=$(wc -l < "$TMP/failing")
[ "$nfail" -ge 1 ] && [ "$nfail" -lt "$runs" ] ||
	{ cat "$TMP/j1"; fail "the buggy plugin should fail some seeds, not $nfail of $runs"; }
cmp -s "$TMP/j1" "$TMP/j2" || { diff "$TMP/j1" "$TMP/j2"; fail "--jobs 1 and --jobs 2 print different sweeps"; }
grep -q "^$runs runs from seed 1: $((runs - nfail)) passed, $nfail failed\$" "$TMP/j1" ||
	fail "sweep summary"
pass "chaos.lua on the buggy plugin: the same $nfail failing seeds of $runs, line for line, with --jobs 1 and 2"

# The stores of each failing seed are kept and named; nothing else stays.
[ "$kept" = "$nfail" ] || fail "--jobs 2 kept $kept directories for $nfail failing seeds"
for s in $(sed 's/^FAIL seed \([0-9]*\):.*/\1/' "$TMP/failing"); do
	grep -qF "  stores: $TMP/sweep/seed-$s" "$TMP/j1" || fail "seed $s: its stores are not named"
	[ -d "$TMP/sweep/seed-$s" ] || fail "seed $s: its stores were not kept"
done
[ "$(ls "$TMP/sweep" | grep -cv '^seed-\|^lock$' || true)" = 0 ] ||
	{ ls "$TMP/sweep"; fail "a worker's or a passing seed's directory stayed"; }
first=$(sed -n '1s/^FAIL seed \([0-9]*\):.*/\1/p' "$TMP/failing")
ddbsim check -c "$BUGGY" -d "$TMP/sweep/seed-$first" -q
expect_rc 1 "check of the kept stores of seed $first"
pass "failing seeds' stores are kept as seed-S (seed $first still fails ddbsim check), the rest removed"

# Shrinking the first failing seed.
check=$(sed -n '1s/^FAIL seed [0-9]*: \([^ ]*\).*/\1/p' "$TMP/failing")
ddbsim run -c "$BUGGY" "$SCRIPTS/chaos.lua" --seed "$first" --shrink --jobs 2 \
	--shrink-out "$TMP/shrunk.lua" -d "$TMP/shrink"
expect_rc 1 "--shrink of seed $first"
line=$(grep '^shrunk from [0-9]* steps to [0-9]*' "$TMP/out") || { cat "$TMP/out"; fail "no 'shrunk from' line"; }
to=$(echo "$line" | sed 's/^shrunk from [0-9]* steps to \([0-9]*\).*/\1/')
steps=$(sed -n '/^scenario.failures = {$/,/^}$/p' "$TMP/shrunk.lua" | grep -c '^  { at = ' || true)
[ "$steps" = "$to" ] || fail "the shrunk file has $steps steps, the output says $to"
[ "$to" -ge 1 ] && [ "$to" -le 2 ] || { cat "$TMP/out"; fail "shrunk to $to steps, expected 1 or 2"; }
expect_out "run it: ddbsim run $TMP/shrunk.lua --seed $first -c $BUGGY" "--shrink command"
[ "$(ls "$TMP/shrink")" = lock ] || { ls "$TMP/shrink"; fail "--shrink left trial directories"; }

ddbsim run -c "$BUGGY" "$TMP/shrunk.lua" --seed "$first" -q -d "$TMP/alone"
expect_rc 1 "the shrunk scenario on its own"
expect_out "FAIL $check:" "the shrunk scenario fails $check"
pass "seed $first shrinks to $to fault step(s) that fail $check on their own: $(sed -n '/^scenario.failures/,/^}/p' "$TMP/shrunk.lua" | grep '^  {' | tr -s ' ' | tr '\n' ' ')"

ddbsim run -c "$BUGGY" "$SCRIPTS/chaos.lua" --seed "$first" --shrink --jobs 1 -q \
	--shrink-out "$TMP/shrunk1.lua" -d "$TMP/shrink"
expect_rc 1 "--shrink --jobs 1"
cmp -s "$TMP/shrunk.lua" "$TMP/shrunk1.lua" || { diff "$TMP/shrunk.lua" "$TMP/shrunk1.lua"; fail "--shrink wrote different files with --jobs 1 and 2"; }
pass "--shrink writes the same scenario with --jobs 1 and --jobs 2"

# The other bug: a seed that fails only customers_converged (last write wins).
other=$(sed -n 's/^FAIL seed \([0-9]*\): customers_converged$/\1/p' "$TMP/failing" | head -n 1)
if [ -n "$other" ]; then
	ddbsim run -c "$BUGGY" "$SCRIPTS/chaos.lua" --seed "$other" --shrink -q \
		--shrink-out "$TMP/other.lua" -d "$TMP/shrink"
	expect_rc 1 "--shrink of seed $other"
	n=$(sed -n '/^scenario.failures = {$/,/^}$/p' "$TMP/other.lua" | grep -c '^  { at = ' || true)
	[ "$n" -ge 1 ] && [ "$n" -le 2 ] || { cat "$TMP/out"; fail "seed $other shrunk to $n steps"; }
	ddbsim run -c "$BUGGY" "$TMP/other.lua" --seed "$other" -q -d "$TMP/alone"
	expect_rc 1 "the second shrunk scenario on its own"
	expect_out "FAIL customers_converged:" "the second shrunk scenario fails customers_converged"
	pass "seed $other shrinks to $n fault step(s) that fail customers_converged on their own"
fi

# A seed that holds has nothing to shrink.
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --seed 1 --shrink --jobs 1 -d "$TMP/holds"
expect_rc 0 "--shrink of a seed that holds"
expect_out "seed 1 holds every check: nothing to shrink" "--shrink of a seed that holds"
pass "--shrink of a seed that holds says so and exits 0"

# The progress line: on a terminal only, never with -q.
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --runs 2 --jobs 2 -d "$TMP/p"
expect_rc 0 "sweep without a terminal"
! grep -q 'seeds done' "$TMP/err" "$TMP/out" || fail "a progress line without a terminal"
if script -qec true /dev/null >/dev/null 2>&1; then
	script -qec "'$DDBSIM' run -c '$CONF' '$SCRIPTS/chaos.lua' --runs 2 --jobs 2 -d '$TMP/p'" \
		/dev/null > "$TMP/tty" 2>&1 || fail "sweep on a terminal"
	grep -q '2/2 seeds done, 0 failed, ETA' "$TMP/tty" || { cat "$TMP/tty"; fail "no progress line on a terminal"; }
	script -qec "'$DDBSIM' run -c '$CONF' '$SCRIPTS/chaos.lua' --runs 2 --jobs 2 -q -d '$TMP/p'" \
		/dev/null > "$TMP/tty" 2>&1 || fail "sweep -q on a terminal"
	! grep -q 'seeds done' "$TMP/tty" || fail "a progress line with -q"
	pass "the progress line shows on a terminal, not with -q or without a terminal"
fi

# The workers start from the node states kept in the data directory (node
# set), as a single run there does.
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --seed 2 -q -d "$TMP/kept"
expect_rc 0 "chaos seed 2"
ddbsim node set north slow --latency 0.05 -c "$CONF" -d "$TMP/kept"
expect_rc 0 "node set north slow"
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --seed 2 -q -d "$TMP/kept"
expect_rc 0 "chaos seed 2, north slow"
hash=$(sed -n 's/^all checks hold (state_hash \([0-9a-f]*\))$/\1/p' "$TMP/out")
[ -n "$hash" ] || fail "no state hash"
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --seed 1 --runs 2 --jobs 2 -d "$TMP/kept"
expect_rc 0 "sweep with north slow"
expect_out "ok   seed 2 (state_hash $hash," "a sweep's seed 2 with north slow"
pass "a sweep's workers start from the node states of the data directory"

# A worker's script watchdog (script_watchdog.c, restarted in each forked
# worker) still stops a call stuck in C: the sweep says which seed and where
# its stores stayed, and exits 2.
sed 's/^data_dir.*/&\nlua_time_limit_ms = 300/' "$CONF" > "$TMP/c.conf"
cat > "$TMP/cloop.lua" <<'LUA'
local shop = require "shop"
return shop.scenario {
  duration = 2,
  regions = { "east", "west" },
  catalog = { { sku = "A", price = 1, stock = 100000 } },
  rules = { order = function(o)
    string.find(string.rep("a", 5000), ".-.-.-.-.-b")
  end },
}
LUA
rc=0
timeout 60 "$DDBSIM" run -c "$TMP/c.conf" "$TMP/cloop.lua" --runs 3 --jobs 2 -q -d "$TMP/stuck" \
	> "$TMP/out" 2> "$TMP/err" || rc=$?
expect_rc 2 "a sweep whose script is stuck in C"
expect_err "in hook rules.order: time limit exceeded (300 ms; lua_time_limit_ms) in a library function" "watchdog in a worker"
expect_err "ddbsim: seed 1: the worker running seed 1 exited with status 2 before the seed finished (its stores stay in $TMP/stuck/worker-" "watchdog in a worker"
pass "the script watchdog stops a stuck call in a worker; the sweep names the seed (exit 2)"

# --jobs and --shrink go where they belong.
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --jobs 2 -d "$TMP/u"
expect_rc 2 "--jobs alone"
expect_err "--jobs goes with --runs or --shrink" "--jobs alone"
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --runs 2 --jobs 0 -d "$TMP/u"
expect_rc 2 "--jobs 0"
expect_err "--jobs needs a whole number from 1 to 256" "--jobs 0"
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --runs 2 --shrink -d "$TMP/u"
expect_rc 2 "--shrink with --runs"
ddbsim run -c "$CONF" "$SCRIPTS/chaos.lua" --shrink-out "$TMP/x.lua" -d "$TMP/u"
expect_rc 2 "--shrink-out alone"
expect_err "--shrink-out goes with --shrink" "--shrink-out alone"
pass "--jobs, --shrink and --shrink-out are refused where they do not apply"
