#!/bin/sh
# One process per data directory: while a run works on DATA_DIR, another
# run, drain, check or node set on it exits 2, naming the directory and the
# pid of the run, and changes nothing; node list still reads it.  Once the
# run is over (stopped here with SIGTERM), they all work again.
. "$top_srcdir/tests/integration/lib.sh"

D="$TMP/data"
long="$top_srcdir/tests/integration/data/long.lua"

# The run would last a simulated day; the test stops it.  (A background job
# of a script starts with SIGINT ignored; SIGTERM it gets.)
"$DDBSIM" run -c "$CONF" "$long" -q > "$TMP/run.out" 2>&1 &
RUN_PID=$!
# Wait until it has set its stores up (and, with the lock, holds it).
i=0
until grep -q '^resetting no' "$D/nodes" 2>/dev/null; do
	kill -0 "$RUN_PID" 2>/dev/null || { cat "$TMP/run.out"; fail "the run ended before the test"; }
	i=$((i + 1))
	[ "$i" -le 1200 ] || fail "the run did not finish its setup within 120 s"
	sleep 0.1
done

busy="data directory $D is in use by ddbsim process $RUN_PID"
ddbsim check -c "$CONF"
expect_rc 2 "check during the run"
expect_err "$busy" "check during the run"
[ "$(cat "$D/lock")" = "$RUN_PID" ] || fail "$D/lock does not hold the run's pid ($RUN_PID)"
ddbsim drain -c "$CONF"
expect_rc 2 "drain during the run"
expect_err "$busy" "drain during the run"
ddbsim node set west down -c "$CONF"
expect_rc 2 "node set during the run"
expect_err "$busy" "node set during the run"
ddbsim run -c "$CONF" "$long" -q
expect_rc 2 "a second run"
expect_err "$busy" "a second run"
! grep -q . "$TMP/out" || { cat "$TMP/out"; fail "the second run printed something: it started"; }
ddbsim node list -c "$CONF"
expect_rc 0 "node list during the run"
grep -qE '^west +region +up' "$TMP/out" || fail "node set changed the nodes file during the run"
kill -0 "$RUN_PID" 2>/dev/null || fail "the run ended while the others were refused: the test proves nothing"
pass "check, drain, node set and run on a directory in use exit 2, naming it and the pid"

kill -TERM "$RUN_PID"
status=0
wait "$RUN_PID" || status=$?
RUN_PID=
[ "$status" -eq 143 ] || { cat "$TMP/run.out"; fail "the run stopped by SIGTERM exited $status, not 143"; }
[ ! -s "$D/lock" ] || fail "$D/lock still names a holder after the run: '$(cat "$D/lock")'"

ddbsim drain -c "$CONF" -q
expect_rc 0 "drain after the run"
ddbsim check -c "$CONF" -q
expect_rc 0 "check after the run"
ddbsim node set west down -c "$CONF"
expect_rc 0 "node set after the run"
ddbsim node set west up -c "$CONF"
expect_rc 0 "node set after the run"
pass "once the run is over, drain, check and node set work"

# A process that dies holds nothing: the kernel drops the lock.
"$DDBSIM" run -c "$CONF" "$long" -q > "$TMP/run.out" 2>&1 &
RUN_PID=$!
i=0
until [ "$(cat "$D/lock" 2>/dev/null)" = "$RUN_PID" ]; do
	kill -0 "$RUN_PID" 2>/dev/null || { cat "$TMP/run.out"; fail "the second long run ended early"; }
	i=$((i + 1))
	[ "$i" -le 1200 ] || fail "the second long run did not take the lock within 120 s"
	sleep 0.1
done
kill -9 "$RUN_PID"
wait "$RUN_PID" 2>/dev/null || true
RUN_PID=
ddbsim node set west down -c "$CONF"
expect_rc 0 "node set after a kill -9 of the holder"
pass "the lock of a process killed with -9 is gone with it"
