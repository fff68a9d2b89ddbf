#!/bin/sh
# The broker stopped and started again in the middle of a run: nothing lost
# or doubled at the center.  While the broker is down the plugin answers
# UNAVAILABLE; the relay keeps the events NEW and publishes them again; what
# was published but not confirmed is published again too; the broker keeps
# the durable queues and persistent (confirmed) messages across its restart
# and delivers again what was unacked; the center ignores copies.  The run
# itself must end with every check holding.  Odd rounds stop the broker
# cleanly (SIGTERM), even rounds crash it (SIGKILL).  RESTART_ROUNDS
# (default 2) sets how many runs.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/rabbitmq/broker.sh"

rounds=${RESTART_ROUNDS:-2}
scenario="$top_srcdir/tests/integration/data/rabbitmq/restart.lua"

central_count() {
	sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders" 2>/dev/null || echo 0
}

i=1
while [ "$i" -le "$rounds" ]; do
	rm -rf "$TMP/data"
	"$DDBSIM" run -c "$RMQ_CONF" "$scenario" --seed "$i" --report "$TMP/r.json" \
		> "$TMP/run.out" 2> "$TMP/run.err" &
	pid=$!
	RUN_PID=$pid
	# Stop the broker once the center has some orders, i.e. mid-flow.
	n=0
	while [ "$(central_count)" -lt 200 ]; do
		kill -0 "$pid" 2>/dev/null || { cat "$TMP/run.err"; fail "round $i: the run ended before the restart"; }
		n=$((n + 1))
		[ "$n" -lt 600 ] || fail "round $i: no order reached the center in 60 s"
		sleep 0.1
	done
	before=$(central_count)
	if [ $((i % 2)) = 1 ]; then
		how=stopped
		broker_stop
	else
		how=killed
		broker_kill
	fi
	stopped_at=$(date +%s)
	kill -0 "$pid" 2>/dev/null || fail "round $i: the run ended before the broker was $how"
	sleep 1
	broker_start
	echo "round $i: broker $how with $before orders at the center, back after $(( $(date +%s) - stopped_at )) s"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$TMP/run.out" "$TMP/run.err" >&2; fail "round $i: run exit status $rc"; }
	R="$TMP/r.json"
	[ "$(json "$R" '[.checks[] | select(.ok | not)] | length')" = 0 ] || fail "round $i: a check failed"
	unavailable=$(json "$R" '.faults.unavailable_calls // .sync.unavailable_calls // 0')
	[ "$unavailable" -gt 0 ] || fail "round $i: the run never found the broker away"
	accepted=$(json "$R" .orders.accepted)
	regional=0
	for r in seattle boston denver; do
		regional=$((regional + $(sqlite3 "$TMP/data/$r.db" "SELECT count(*) FROM orders")))
	done
	central=$(central_count)
	distinct=$(sqlite3 "$TMP/data/central.db" "SELECT count(DISTINCT id) FROM central_orders")
	logs=$(sqlite3 "$TMP/data/documents.db" "SELECT count(*) FROM order_product")
	[ "$regional" = "$accepted" ] || fail "round $i: regions hold $regional orders, report $accepted"
	[ "$central" = "$regional" ] || fail "round $i: center has $central orders, regions $regional"
	[ "$distinct" = "$central" ] || fail "round $i: $central central rows, $distinct distinct"
	[ "$logs" = "$regional" ] || fail "round $i: $logs order logs, regions $regional"
	q=$(broker_queues | awk '$1 ~ /^sync\./ { printf "%s=%s ", $1, $2 }')
	[ "$q" = "sync.central=0 sync.documents=0 " ] || fail "round $i: broker queues: $q"
	echo "round $i: $accepted orders accepted, $central at the center (each once), $logs order logs;" \
		"redeliveries $(json "$R" .sync.redeliveries), unavailable calls $unavailable"
	i=$((i + 1))
done
pass "$rounds broker restart(s) mid-run (stopped or killed): nothing lost, nothing doubled"
