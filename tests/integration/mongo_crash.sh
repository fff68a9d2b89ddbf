#!/bin/sh
# Crashes between two steps of the mongo plugin's multi-document writes
# (doc/mongo.md, "Atomicity"): with the regions on MongoDB, a run is ended
# by a failpoint (DDBSIM_MONGO_FAILPOINT: _exit(86) between two writes) at
# each step of placing orders, of upserting a product and of finishing a
# committed batch, and inside recovery itself; then `ddbsim drain` opens the
# stores (recovery runs), finishes the sync and runs the checks (a crash in
# the setup, while products are written, leaves a setup drain must refuse:
# then a new run does the same): stock never
# negative, the books balance, every accepted order once at the center and
# in the order logs.  From outside, no claim, hold or unfinished intent is
# left and every order has exactly one outbox event.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/mongo/lib.sh"

write_conf "$TMP/crash.conf" "plugin = mongo
uri = \${MONGO_URI}
database_prefix = $MONGO_PREFIX" "plugin = sqlite" "plugin = sqlite"
SCENARIO="$MONGO_DATA/small.lua"
REGIONS="east middle west"

# crash SPEC [DRAIN_SPEC]: a run that must end at failpoint SPEC; a drain
# that must end at DRAIN_SPEC when given; then a drain that completes.
crash() {
	rc=0
	DDBSIM_MONGO_FAILPOINT=$1 "$DDBSIM" run -c "$TMP/crash.conf" "$SCENARIO" \
		--param duration=4 --seed 3 -q > "$TMP/run.out" 2>&1 || rc=$?
	[ "$rc" -eq 86 ] || { cat "$TMP/run.out"; fail "failpoint $1 not reached (exit $rc)"; }
	grep -q "failpoint" "$TMP/run.out" || fail "failpoint $1: no message"
	# What the crash left: something, except where the step before wrote
	# nothing that needs recovery (a number drawn: a gap in the outbox).
	lrc=0
	mongo_py check_stores.py leftover "$MONGO_URI" "$MONGO_PREFIX" $REGIONS > "$TMP/left.out" || lrc=$?
	case "$1" in
	product:numbered*) ;;
	*) [ "$lrc" -eq 0 ] || { cat "$TMP/left.out"; fail "failpoint $1 left nothing to recover"; } ;;
	esac
	left=$(sed 's/^left between two steps: //' "$TMP/left.out")
	if [ -n "${2:-}" ]; then
		rc=0
		DDBSIM_MONGO_FAILPOINT=$2 "$DDBSIM" drain -c "$TMP/crash.conf" -q \
			> "$TMP/drain.out" 2>&1 || rc=$?
		[ "$rc" -eq 86 ] || { cat "$TMP/drain.out"; fail "failpoint $2 not reached in recovery (exit $rc)"; }
	fi
	ddbsim drain -c "$TMP/crash.conf" --report "$TMP/drain.json"
	case "$1" in
	product:*|finish:product:*)
		# Products are written by the run's setup (the catalog install): a
		# crash there leaves a setup that did not finish, which drain must
		# refuse rather than certify; a new run opens the stores (recovery
		# runs), wipes them and completes.
		expect_rc 2 "crash at $1 (in the setup): drain"
		expect_err "did not finish (interrupted run)" "crash at $1 (in the setup): drain"
		ddbsim run -c "$TMP/crash.conf" "$SCENARIO" --param duration=4 --seed 3 -q
		;;
	esac
	[ "$rc" -eq 0 ] || { cat "$TMP/out" "$TMP/err"; fail "crash at $1${2:+, then $2}: drain exit $rc"; }
	mongo_py check_stores.py regional "$MONGO_URI" "$MONGO_PREFIX" $REGIONS > "$TMP/check.out" ||
		{ cat "$TMP/check.out"; fail "crash at $1${2:+, then $2}: the regional stores"; }
	pass "crash at $1${2:+, then in recovery at $2} (left: $left): drain restored every check; $(sed 's/^ok: //' "$TMP/check.out")"
}

for fp in place:claimed:5 place:held:5 place:released:5 place:numbered:5 \
	place:committed:5 finish:orders:5 finish:events:5 finish:done:15 \
	product:numbered:3 product:committed:3 finish:product:3; do
	crash "$fp"
done
# Recovery itself interrupted: aborting a batch, giving its stock back.
crash place:held:5 settle:aborted
crash place:held:5 rollback:given
mongo_drop_prefix
