#!/bin/sh
# Each kind of fault, applied by the core's fault layer, with orders and
# customer records going on: the fault happens (its counter moves) and
# every check holds once it is over.
. "$top_srcdir/tests/integration/lib.sh"

S="$top_srcdir/tests/integration/data/fault.lua"
run_fault() { # KIND JQ-EXPRESSION-THAT-MUST-BE-TRUE
	ddbsim run -c "$CONF" "$S" --param fault="$1" --seed 3 --report "$TMP/$1.json"
	expect_rc 0 "fault $1"
	[ "$(json "$TMP/$1.json" "$2")" = true ] || fail "fault $1: $2 is not true"
	pass "$1: $2; every check holds"
}
run_fault down '.faults.refused_down > 0 and .orders.rejected.unavailable > 0'
run_fault center_down '.faults.refused_down > 0 and .queues.max_depth["sync.central"] > 0'
run_fault broker_down '.faults.refused_down > 0'
run_fault slow '.latency_ms.max >= 80'
run_fault partition '.faults.refused_partition > 0'
run_fault oneway '.faults.replies_lost > 0'
run_fault drop '.faults.messages_dropped > 0 and .sync.redeliveries > 0'
run_fault duplicate '.faults.messages_duplicated > 0'
run_fault delay '.faults.messages_delayed > 0'
run_fault reorder '.faults.batches_reordered > 0'
run_fault crash_relay '[.faults.steps[].action] == ["crash", "restart"]'
run_fault crash_applier '[.faults.steps[].action] == ["crash", "restart"] and .sync.redeliveries > 0'

# Duplicates and reordering for the whole run: the central totals are exact.
ddbsim run -c "$CONF" "$top_srcdir/tests/integration/data/dup_reorder.lua" --report "$TMP/d.json"
expect_rc 0 "duplicate=0.2 and reorder for the whole run"
[ "$(json "$TMP/d.json" '.faults.messages_duplicated > 100')" = true ] || fail "few duplicates"
regional=0
for r in seattle boston denver; do
	n=$(sqlite3 "$TMP/data/$r.db" "SELECT coalesce(sum(quantity * unit_price_cents), 0) FROM orders")
	regional=$((regional + n))
done
central=$(sqlite3 "$TMP/data/central.db" "SELECT coalesce(sum(quantity * unit_price_cents), 0) FROM central_orders")
[ "$regional" = "$central" ] || fail "regions sold $regional cents, the center counts $central"
pass "with 20% duplicates and every batch shuffled, the center counts exactly $central cents"
