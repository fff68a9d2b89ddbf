#!/bin/sh
# SIGINT and SIGTERM stop a run cleanly: it stops between two events, hands
# what the emulation holds to the broker (the memory transport keeps it in
# DATA_DIR/broker.queues), says it was interrupted, claims no check (its
# report says so too) and exits 130 or 143; drain then brings the directory
# to a state where every check holds.  A run stopped during its setup (the
# wipe and the catalog), by a signal or by kill -9, leaves a directory that
# drain and check refuse until a new run.
. "$top_srcdir/tests/integration/lib.sh"

long="$top_srcdir/tests/integration/data/long.lua"
big="$top_srcdir/tests/integration/data/big_catalog.lua"

# wait_for FILE PATTERN WHAT: until a line of FILE matches PATTERN, while
# the run lives (at most 120 s).
wait_for() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$RUN_PID" 2>/dev/null || { cat "$TMP/run.out" "$TMP/run.err"; fail "the run ended before $3"; }
		i=$((i + 1))
		[ "$i" -le 2400 ] || fail "no $3 within 120 s"
		sleep 0.05
	done
}

# start_run DIR SIGNAL SCENARIO ARGS...: a run in the background with
# SIGNAL's default disposition (a script's background job starts with
# SIGINT ignored, and ddbsim keeps a signal ignored that it was given so).
start_run() {
	dir=$1 sig=$2 scenario=$3
	shift 3
	env --default-signal="$sig" "$DDBSIM" run -c "$CONF" -d "$dir" "$scenario" "$@" \
		> "$TMP/run.out" 2> "$TMP/run.err" &
	RUN_PID=$!
}

stop_and_wait() { # SIGNAL EXPECTED_STATUS WHAT
	kill -"$1" "$RUN_PID"
	status=0
	wait "$RUN_PID" || status=$?
	RUN_PID=
	[ "$status" -eq "$2" ] || { cat "$TMP/run.out" "$TMP/run.err"; fail "$3: exit status $status, not $2"; }
}

# ---- SIGINT in the middle of a run -----------------------------------------
D="$TMP/int"
start_run "$D" INT "$long" --report "$TMP/int.json"
wait_for "$D/nodes" '^resetting no' "the end of the setup"
sleep 3 # into the simulated day: west down, messages delayed, the broker down
stop_and_wait INT 130 "SIGINT"
grep -q "INTERRUPTED by SIGINT at t=" "$TMP/run.out" || { cat "$TMP/run.out"; fail "the report does not say it was interrupted"; }
grep -q "all checks hold\|SOME CHECKS FAILED" "$TMP/run.out" && fail "an interrupted run gave a verdict on its checks"
grep -q "run interrupted (SIGINT)" "$TMP/run.err" || { cat "$TMP/run.err"; fail "no message on stderr"; }
grep -qF "'ddbsim drain -d $D -c $CONF'" "$TMP/run.err" || { cat "$TMP/run.err"; fail "no drain command on stderr"; }
[ "$(json "$TMP/int.json" .interrupted.signal)" = SIGINT ] || fail "report: interrupted.signal"
[ "$(json "$TMP/int.json" .interrupted.during)" = workload ] || fail "report: interrupted.during"
[ "$(json "$TMP/int.json" '.interrupted.at > 3')" = true ] ||
	fail "report: interrupted at t=$(json "$TMP/int.json" .interrupted.at), before the faults began"
[ "$(json "$TMP/int.json" .checks_run)" = false ] || fail "report: checks_run"
[ "$(json "$TMP/int.json" .all_checks_hold)" = false ] || fail "report: all_checks_hold"
[ "$(json "$TMP/int.json" '.checks | length')" = 0 ] || fail "report: checks listed"
[ "$(json "$TMP/int.json" .state_hash)" = null ] || fail "report: a state hash"
[ "$(json "$TMP/int.json" '.orders.accepted > 0')" = true ] || fail "report: no orders"
[ -s "$D/broker.queues" ] || fail "the memory transport kept nothing in $D/broker.queues"
[ ! -s "$D/lock" ] || fail "$D/lock still names a holder"
pass "SIGINT: exit 130, the report says interrupted and claims no check, the queues are kept"

ddbsim check -c "$CONF" -d "$D" -q
expect_rc 1 "check right after the interrupted run (the sync did not finish)"
ddbsim drain -c "$CONF" -d "$D" --report "$TMP/drain.json"
expect_rc 0 "drain after SIGINT"
[ "$(json "$TMP/drain.json" '[.checks[] | select(.ok | not)] | length')" = 0 ] || fail "drain: a check failed"
[ "$(json "$TMP/drain.json" '[.checks[] | select(.name == "customers_converged" or .name == "no_lost_queued_write")] | length')" = 2 ] ||
	fail "drain did not check the customers"
ddbsim check -c "$CONF" -d "$D" -q
expect_rc 0 "check after drain"
pass "drain after SIGINT: every check holds, nothing lost"

# ---- SIGTERM ----------------------------------------------------------------
D="$TMP/term"
start_run "$D" TERM "$long" -q
wait_for "$D/nodes" '^resetting no' "the end of the setup"
sleep 1
stop_and_wait TERM 143 "SIGTERM"
grep -q "INTERRUPTED (SIGTERM) during workload: the checks were not run" "$TMP/run.out" ||
	{ cat "$TMP/run.out"; fail "-q: no INTERRUPTED line"; }
grep -q "run interrupted (SIGTERM)" "$TMP/run.err" || { cat "$TMP/run.err"; fail "no message on stderr"; }
ddbsim drain -c "$CONF" -d "$D" -q
expect_rc 0 "drain after SIGTERM"
pass "SIGTERM: exit 143, drain restores every check"

# ---- a signal during the setup ------------------------------------------------
# setup_stopped SIGNAL STATUS DIR: a run with a big catalog, stopped (SIGSTOP)
# while its nodes file says its setup is under way, then sent SIGNAL: it
# must not finish the setup.
setup_stopped() {
	start_run "$3" "$([ "$1" = KILL ] && echo INT || echo "$1")" "$big"
	wait_for "$3/nodes" '^resetting yes' "the setup"
	kill -STOP "$RUN_PID"
	grep -q '^resetting yes' "$3/nodes" || fail "the setup ended before the run was stopped"
	kill -"$1" "$RUN_PID"
	kill -CONT "$RUN_PID" 2>/dev/null || true
	status=0
	wait "$RUN_PID" || status=$?
	RUN_PID=
	[ "$status" -eq "$2" ] || { cat "$TMP/run.out" "$TMP/run.err"; fail "$1 during the setup: exit status $status, not $2"; }
	grep -q '^resetting yes' "$3/nodes" || fail "$1 during the setup: the setup mark is gone"
}

expect_unfinished() { # DIR WHAT
	find "$1" -type f ! -name lock | sort | xargs sha256sum > "$TMP/sums.before"
	ddbsim check -c "$CONF" -d "$1"
	expect_rc 2 "check after $2"
	expect_err "setup of $1 did not finish (interrupted run): its stores are incomplete; run again" "check after $2"
	ddbsim drain -c "$CONF" -d "$1"
	expect_rc 2 "drain after $2"
	expect_err "setup of $1 did not finish (interrupted run)" "drain after $2"
	find "$1" -type f ! -name lock | sort | xargs sha256sum > "$TMP/sums.after"
	cmp -s "$TMP/sums.before" "$TMP/sums.after" || fail "check or drain changed $1 after $2"
}

D="$TMP/setup-int"
setup_stopped INT 130 "$D"
grep -q "interrupted (SIGINT) while setting up the stores of $D" "$TMP/run.err" ||
	{ cat "$TMP/run.err"; fail "SIGINT during the setup: no message"; }
grep -q "INTERRUPTED by SIGINT while setting up the stores" "$TMP/run.out" ||
	{ cat "$TMP/run.out"; fail "SIGINT during the setup: the report does not say so"; }
expect_unfinished "$D" "SIGINT during the setup"
ddbsim run -c "$CONF" -d "$D" "$big" --param products=50 -q
expect_rc 0 "a new run after an unfinished setup"
ddbsim check -c "$CONF" -d "$D" -q
expect_rc 0 "check after the new run"
pass "SIGINT during the setup: exit 130; check and drain refuse the directory until a new run"

D="$TMP/setup-kill"
setup_stopped KILL 137 "$D"
expect_unfinished "$D" "kill -9 during the setup"
pass "kill -9 during the setup: check and drain refuse the directory"
