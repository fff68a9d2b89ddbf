#!/bin/sh
# The PostgreSQL server stopped in the middle of a run and started again
# (fast shutdown: the server ends its sessions, as on a restart), with every
# store on it.  The plugin reports the lost connections as UNAVAILABLE,
# reconnects with backoff, and never leaves a write half-known; then:
#   - the outage is counted in the report (unavailable calls);
#   - the regions hold exactly the orders the run counted as accepted, and
#     stock balances (the run's own checks);
#   - after `ddbsim drain` every check holds, and plain SQL finds each
#     accepted order once in its region, once at the center, once in the
#     order logs: nothing lost, nothing doubled.
# (The run may end with sync still pending: while the server is down its
# virtual clock runs on, past its drain limit; drain finishes that.)
# PG_RESTART_ROUNDS (default 2) sets how many times; the server keeps fsync on.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/postgres/lib.sh"

rounds=${PG_RESTART_ROUNDS:-2}
scenario="$top_srcdir/tests/integration/data/kill.lua"

regional_orders() {
	total=0
	for db in seattle boston denver; do
		n=$(pg_sql "$db" "SELECT count(*) FROM orders" 2>/dev/null) || n=0
		total=$((total + ${n:-0}))
	done
	echo "$total"
}

i=1
while [ "$i" -le "$rounds" ]; do
	# Start from empty regions, so that the count below is this run's.
	rm -rf "$TMP/data"
	for db in seattle boston denver; do
		pg_sql "$db" "DO \$\$ BEGIN IF to_regclass('orders') IS NOT NULL THEN TRUNCATE orders; END IF; END \$\$" > /dev/null
	done
	"$DDBSIM" run -c "$PG_CONF" "$scenario" --seed "$i" -q --report "$TMP/run.json" \
		> "$TMP/run.out" 2> "$TMP/run.err" &
	pid=$!
	RUN_PID=$pid
	# Stop once the run has placed a few hundred orders (of thousands).
	r16=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	threshold=$((200 + r16 % 800))
	waited=0
	while [ "$(regional_orders)" -lt "$threshold" ]; do
		kill -0 "$pid" 2>/dev/null || { cat "$TMP/run.out" "$TMP/run.err"; fail "round $i: the run ended before $threshold orders"; }
		sleep 0.1
		waited=$((waited + 1))
		[ "$waited" -lt 1200 ] || fail "round $i: fewer than $threshold orders after 120 s"
	done
	kill -0 "$pid" 2>/dev/null || fail "round $i: the run ended before the server was stopped"
	before=$(regional_orders)
	pg_stop
	down_ms=$((1000 + r16 % 2000))
	sleep "$(awk -v ms="$down_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -0 "$pid" 2>/dev/null || { cat "$TMP/run.out" "$TMP/run.err"; fail "round $i: the run ended while the server was down"; }
	pg_start
	run_rc=0
	wait "$pid" || run_rc=$?
	[ "$run_rc" -le 1 ] || { cat "$TMP/run.out" "$TMP/run.err"; fail "round $i: run exit status $run_rc"; }
	R="$TMP/run.json"
	[ -s "$R" ] || fail "round $i: no report"

	# The outage is counted.
	unavailable=$(json "$R" '.faults.unavailable_calls // 0')
	[ "$unavailable" -gt 0 ] || fail "round $i: no call counted as unavailable"
	# The run's own accounting held whatever sync had left to do.
	for c in accepted_orders_all_stored stock_never_negative stock_balance; do
		[ "$(json "$R" ".checks[] | select(.name == \"$c\") | .ok")" = true ] ||
			{ json "$R" '.checks'; fail "round $i: check $c failed"; }
	done

	ddbsim drain -c "$PG_CONF" --report "$TMP/drain.json" -q
	[ "$rc" -eq 0 ] || { cat "$TMP/out" "$TMP/err"; fail "round $i: drain exit status $rc"; }
	[ "$(json "$TMP/drain.json" .all_checks_hold)" = true ] || fail "round $i: a check failed after drain"

	# From outside, in SQL.
	accepted=$(json "$R" .orders.accepted)
	regional=$(regional_orders)
	central=$(pg_sql central "SELECT count(*) FROM central_orders")
	distinct=$(pg_sql central "SELECT count(DISTINCT id) FROM central_orders")
	logs=$(pg_sql central "SELECT count(*) FROM order_product")
	[ "$regional" = "$accepted" ] || fail "round $i: the regions hold $regional orders, the run accepted $accepted"
	[ "$central" = "$accepted" ] || fail "round $i: the center holds $central orders, the run accepted $accepted"
	[ "$distinct" = "$central" ] || fail "round $i: an order twice at the center"
	[ "$logs" = "$accepted" ] || fail "round $i: $logs order logs for $accepted orders"
	missing=$(pg_sql central "SELECT count(*) FROM order_product AS d
		LEFT JOIN central_orders AS c ON c.id = d.order_id WHERE c.id IS NULL")
	[ "$missing" = 0 ] || fail "round $i: $missing order logs of orders the center lacks"
	refused=$(json "$R" '.orders.rejected.unavailable // 0')
	in_doubt=$(json "$R" '.faults.commits_in_doubt // 0')
	echo "round $i: server stopped after $before orders, down ${down_ms} ms; run exit $run_rc; $unavailable calls unavailable," \
		"$refused orders refused, $in_doubt commits retried; $accepted accepted = $regional in the regions" \
		"= $central at the center = $logs order logs"
	i=$((i + 1))
done
pass "$rounds restarts of the server mid-run: no order lost or doubled, the outage counted"
