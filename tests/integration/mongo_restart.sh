#!/bin/sh
# The documents store's MongoDB server goes away in the middle of a run and
# comes back: the plugin reports the lost server as UNAVAILABLE, ddbsim
# keeps the order logs queued and writes them when the server is back, and
# in the end an independent client finds exactly one order_product document
# per accepted order: nothing lost, nothing doubled.  Two rounds: the
# stand-in stopped (SIGTERM), then killed (SIGKILL), each time started again
# on the same port with its data.  Against DDBSIM_TEST_MONGO_URI (a server
# this test cannot stop) the connection is cut instead, by a proxy.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/mongo/lib.sh"

PROXY_DIR="$TMP/proxy"
PROXY_PID=
stop_proxy() { [ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null || true; }
trap 'stop_proxy; mongo_cleanup' EXIT
if [ "$MONGO_OWN" = 0 ]; then
	mkdir -p "$PROXY_DIR"
	hostport=$("$PY" -c 'import sys; from pymongo.uri_parser import parse_uri
h, p = parse_uri(sys.argv[1])["nodelist"][0]; print(h, p)' "$MONGO_URI")
	"$PY" "$MONGO_DATA/proxy.py" "$PROXY_DIR" $hostport > "$PROXY_DIR/log" 2>&1 &
	PROXY_PID=$!
	i=0
	while [ ! -f "$PROXY_DIR/port" ]; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || fail "the proxy did not start"
		sleep 0.1
	done
	# The same URI with the proxy for its host (credentials and options kept).
	RUN_URI=$("$PY" -c 'import re, sys
u = sys.argv[1]
u = re.sub(r"^(mongodb://(?:[^@/]*@)?)[^/?]*", lambda m: m.group(1) + "127.0.0.1:" + sys.argv[2], u)
u += ("&" if "?" in u else ("?" if u.count("/") >= 3 else "/?")) + "directConnection=true"
print(u)' "$MONGO_URI" "$(cat "$PROXY_DIR/port")")
else
	RUN_URI=$MONGO_URI
fi
write_conf "$TMP/docs.conf" "plugin = sqlite" "plugin = sqlite" "plugin = mongo
uri = $RUN_URI
database_prefix = $MONGO_PREFIX"

# outage HOW: the server goes away, stays away a moment, comes back.
outage() {
	if [ "$MONGO_OWN" = 1 ]; then
		if [ "$1" = kill ]; then
			sh "$MONGO_SH" kill "$MONGO_DIR"
		else
			sh "$MONGO_SH" stop "$MONGO_DIR"
		fi
		sleep 1.5
		out=$(sh "$MONGO_SH" start "$MONGO_DIR") || fail "the stand-in did not start again"
		eval "$out"
	else
		touch "$PROXY_DIR/down"
		sleep 2.5
		rm -f "$PROXY_DIR/down"
	fi
}

round=0
for how in term kill; do
	round=$((round + 1))
	"$DDBSIM" run -c "$TMP/docs.conf" "$MONGO_DATA/busy.lua" --seed "$round" \
		--report "$TMP/run.json" > "$TMP/run.out" 2>&1 &
	pid=$!
	RUN_PID=$pid
	sleep 1.5
	kill -0 "$pid" 2>/dev/null || { cat "$TMP/run.out"; fail "round $round: the run ended before the outage"; }
	outage "$how"
	running_after=0
	kill -0 "$pid" 2>/dev/null && running_after=1
	rc=0
	wait "$pid" || rc=$?
	[ "$running_after" = 1 ] || echo "round $round: the run ended while the server was away"
	unavailable=$(json "$TMP/run.json" '.faults.unavailable_calls // 0' 2>/dev/null || echo 0)
	if [ "$rc" -ne 0 ]; then
		# 1: a check failed - the run gave up with writes pending, which
		# drain finishes.  Anything else (2, a sanitizer's exit) fails.
		[ "$rc" -eq 1 ] || { cat "$TMP/run.out"; fail "round $round: the run exited $rc"; }
		tail -5 "$TMP/run.out"
		ddbsim drain -c "$TMP/docs.conf" --report "$TMP/drain.json"
		expect_rc 0 "round $round: drain after the outage"
		echo "round $round: the run ended with exit $rc; drain completed it"
	else
		grep -q "all checks hold" "$TMP/run.out" || { cat "$TMP/run.out"; fail "round $round: a check failed"; }
	fi
	[ "$unavailable" -gt 0 ] ||
		fail "round $round: no call was UNAVAILABLE: the outage went unnoticed"
	accepted=$(json "$TMP/run.json" .orders.accepted)
	mongo_py check_stores.py documents "$MONGO_URI" "${MONGO_PREFIX}documents" \
		--sqlite "$TMP/data" || fail "round $round ($how): the documents after the outage"
	if [ "$MONGO_OWN" = 1 ]; then what="the stand-in stopped (SIG$(echo "$how" | tr a-z A-Z))"
	else what="the connection cut by the proxy"; fi
	pass "round $round: $what mid-run and back; $unavailable calls UNAVAILABLE; $accepted orders, each with one order log"
	grep -v "^ddbsim: sync:\|^  \|^ok\|^seed=\|^\[" "$TMP/run.out" | head -5
done
mongo_drop_prefix
