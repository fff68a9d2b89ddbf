#!/bin/sh
# kill -9 of `ddbsim run` at random moments; after each, `ddbsim drain`
# must bring the center to exactly the orders the regions accepted: nothing
# lost, nothing twice (the drain's checks compare them row by row).
# KILL_ROUNDS (default 20) sets how many times.
. "$top_srcdir/tests/integration/lib.sh"

rounds=${KILL_ROUNDS:-20}
scenario="$top_srcdir/tests/integration/data/kill.lua"

# How long a whole run takes here, to spread the kill points over it.
start=$(date +%s%N)
ddbsim run -c "$CONF" "$scenario" -q
expect_rc 0 "uninterrupted run"
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "a whole run takes ${full_ms} ms"

i=1
mid_run=0
in_setup=0
while [ "$i" -le "$rounds" ]; do
	r16=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	delay_ms=$((20 + r16 * full_ms / 65536))
	"$DDBSIM" run -c "$CONF" "$scenario" --seed "$i" -q > "$TMP/run.out" 2>&1 &
	pid=$!
	RUN_PID=$pid
	sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -9 "$pid" 2>/dev/null || true
	status=0
	wait "$pid" 2>/dev/null || status=$?
	# Killed mid-run: 137; finished before the kill (which may still have
	# found it exiting): it must have succeeded.
	case "$status" in
	137) mid_run=$((mid_run + 1)) ;;
	0) ;;
	*) cat "$TMP/run.out"; fail "round $i: run exit status $status" ;;
	esac
	ddbsim drain -c "$CONF" --report "$TMP/drain.json"
	if [ "$rc" -eq 2 ] && grep -q "did not finish (interrupted run)" "$TMP/err"; then
		# Killed during its setup: no drain can make that whole; check
		# refuses it too, and the next round's run starts afresh.
		ddbsim check -c "$CONF"
		expect_rc 2 "round $i: check after a kill during the setup"
		echo "round $i: killed after $delay_ms ms, during the setup: drain and check refuse it"
		in_setup=$((in_setup + 1))
		i=$((i + 1))
		continue
	fi
	[ "$rc" -eq 0 ] || { cat "$TMP/out" "$TMP/err"; fail "round $i (kill after $delay_ms ms): drain exit $rc"; }
	at_center=$(json "$TMP/drain.json" '.checks[] | select(.name == "center_has_each_order_once") | .ok')
	[ "$at_center" = true ] || fail "round $i: center check did not hold"
	# From outside: the regions' orders and the center's, counted in SQL.
	regional=0
	for r in seattle boston denver; do
		n=$(sqlite3 "$TMP/data/$r.db" "SELECT count(*) FROM orders")
		regional=$((regional + n))
	done
	central=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders")
	[ "$regional" = "$central" ] || fail "round $i: regions hold $regional orders, the center $central"
	echo "round $i: killed after $delay_ms ms; drain: $regional orders in the regions, $central at the center"
	i=$((i + 1))
done
[ "$mid_run" -gt 0 ] || fail "no kill landed while a run was going"
[ "$in_setup" -lt "$rounds" ] || fail "every kill landed during the setup"
pass "$rounds kills, $mid_run of them mid-run ($in_setup during the setup, refused); drain restored every other one"
