#!/bin/sh
# Bugs that the fuzzers (make fuzz, tests/fuzz/) found in the readers of
# the data directory, each shown here through the ddbsim program; the input
# that showed it is in tests/fuzz/corpus/ as regress-*, which make check
# replays through the harnesses too.
. "$top_srcdir/tests/integration/lib.sh"

# 1. A region may be called "resetting".  DATA_DIR/nodes starts with the
#    flag line "resetting yes|no"; the region's own line, "resetting region
#    up 0 0 -", was read as that flag, so the region vanished from the node
#    table and check reported its orders as coming from an unknown region.
cat > "$TMP/resetting.lua" <<'LUA'
local shop = require "shop"
return shop.scenario {
  duration = 2,
  regions = { "resetting", "west" },
  catalog = { { sku = "A", price = 1, stock = 100 } },
}
LUA
ddbsim run -c "$CONF" "$TMP/resetting.lua" -q
expect_rc 0 "a run with a region called resetting"
ddbsim node list -c "$CONF"
expect_rc 0 "node list"
grep -E '^resetting +region +up' "$TMP/out" >/dev/null || {
	cat "$TMP/out" >&2
	fail "node list lost the region called resetting"
}
ddbsim check -c "$CONF" -q
expect_rc 0 "check after a clean run with a region called resetting"
ddbsim node set resetting down -c "$CONF"
expect_rc 0 "node set on the region called resetting"
pass "a region called resetting stays a node of the nodes file"

# The flag itself is read strictly: yes or no.
cp "$TMP/data/nodes" "$TMP/nodes.saved"
sed 's/^resetting no$/resetting perhaps/' "$TMP/nodes.saved" > "$TMP/data/nodes"
grep -q '^resetting perhaps$' "$TMP/data/nodes" || fail "the test did not damage the flag"
ddbsim node list -c "$CONF"
expect_rc 2 "a resetting flag that is neither yes nor no"
expect_err "data/nodes:2: expected resetting yes or resetting no" "the file and line are named"
cp "$TMP/nodes.saved" "$TMP/data/nodes"
pass "a resetting flag other than yes or no is refused, naming the file and line"

# 2. A queue name holding a NUL byte in DATA_DIR/broker.queues was refused
#    as "queue name missing", without naming the file.
printf 'ddbsim memory queues 1\nqueue 4 1\nab\000c\nmessage 2 0\nhi\nend\n' > "$TMP/data/broker.queues"
[ "$(wc -c < "$TMP/data/broker.queues")" -eq 57 ] || fail "printf did not write the NUL byte"
ddbsim drain -c "$CONF"
expect_rc 2 "a queue name with a NUL byte in broker.queues"
expect_err "broker.queues: a queue's name holds a NUL byte" "the file and the damage are named"
pass "a queue name with a NUL byte in broker.queues is refused, naming the file"

# 3. A negative latency in DATA_DIR/nodes was taken as it was: the next run
#    scheduled its calls to the slow node in the past and never ended.
rm -f "$TMP/data/broker.queues"
sed 's/^west region up 0 0 -$/west region slow -5000000 0 -/' "$TMP/nodes.saved" > "$TMP/data/nodes"
grep -q '^west region slow -5000000 0 -$' "$TMP/data/nodes" || fail "the test did not set a negative latency"
ddbsim node list -c "$CONF"
expect_rc 2 "a negative latency in the nodes file"
expect_err "data/nodes:4: latency and jitter must be from 0 to 1000000000000000 us" "the file and line are named"
# run refuses it too, naming the file and line, rather than hang (as it
# did) or start with every node up as if nothing had been set.
rc=0
timeout 120 "$DDBSIM" run -c "$CONF" "$TMP/resetting.lua" -q > "$TMP/out" 2> "$TMP/err" || rc=$?
[ "$rc" -ne 124 ] || fail "a run on a nodes file with a negative latency did not end in 120 s"
expect_rc 2 "a run on a data directory whose nodes file has a negative latency"
expect_err "data/nodes:4: latency and jitter must be from 0 to 1000000000000000 us" "run names the file and line"
pass "a negative latency in the nodes file is refused by node list and run, naming the file and line"
