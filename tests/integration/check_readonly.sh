#!/bin/sh
# ddbsim check observes and never changes anything: it opens the stores
# read-only, creates no file (not even the data directory), migrates no
# schema and leaves DATA_DIR/broker.queues alone: the directory is the same,
# byte for byte and file for file, before and after.  A missing or empty
# store is a store error (exit 2) naming it; a nodes file that does not
# match the stores is an error, not a list of "unknown region" failures.
. "$top_srcdir/tests/integration/lib.sh"

D="$TMP/data"
cat > "$TMP/three.lua" <<'LUA'
local shop = require "shop"
return shop.scenario {
  name = "three", duration = 2, regions = { "east", "middle", "west" },
  catalog = {
    { sku = "A", name = "A", price = 1, stock = 1000 },
    { sku = "B", name = "B", price = 2, stock = 1000 },
  },
  workload = { rate = 20, order = shop.orders { products = { A = 1, B = 1 }, quantity = { [1] = 1 }, customers = 9 } },
}
LUA

# snapshot DIR FILE: the name and sha256 of every file, and the directory's
# modification time (a file created and removed again changes it).
snapshot() {
	(cd "$1" && find . -type f | sort | xargs sha256sum && stat -c 'dir mtime %y' .) > "$2"
}

same_after_check() { # WHAT EXPECTED_STATUS [EXCLUDE_PATTERN]
	snapshot "$D" "$TMP/before"
	ddbsim check -c "$CONF" -q
	expect_rc "$2" "check $1"
	snapshot "$D" "$TMP/after"
	if [ -n "${3:-}" ]; then
		grep -Ev -- "$3" "$TMP/before" > "$TMP/before.x" || true
		grep -Ev -- "$3" "$TMP/after" > "$TMP/after.x" || true
		mv "$TMP/before.x" "$TMP/before"
		mv "$TMP/after.x" "$TMP/after"
	fi
	diff "$TMP/before" "$TMP/after" >&2 || fail "check $1 changed $D"
}

# ---- nothing there ------------------------------------------------------------
ddbsim check -c "$CONF" -d "$TMP/missing"
expect_rc 2 "check on a missing directory"
expect_err "$TMP/missing/nodes" "check on a missing directory"
[ ! -e "$TMP/missing" ] || fail "check created $TMP/missing"
mkdir "$TMP/empty"
ddbsim check -c "$CONF" -d "$TMP/empty"
expect_rc 2 "check on an empty directory"
expect_err "$TMP/empty/nodes" "check on an empty directory"
[ -z "$(ls -A "$TMP/empty")" ] || fail "check created files in an empty directory: $(ls -A "$TMP/empty")"
pass "check on a missing or empty directory: exit 2, nothing created"

# ---- after a run ----------------------------------------------------------------
ddbsim run -c "$CONF" "$TMP/three.lua" -q
expect_rc 0 "a run"
same_after_check "after a run" 0
same_after_check "twice" 0
pass "check after a run leaves the directory as it was, byte for byte"

# Writes held for a node that is down, kept by the memory transport in
# broker.queues: check counts them and leaves the file alone.
ddbsim node set west down -c "$CONF"
ddbsim run -c "$CONF" "$SCRIPTS/customers.lua" --param outages=no --param duration=5 -q
expect_rc 1 "a customers run with west down"
[ -s "$D/broker.queues" ] || fail "nothing kept in broker.queues"
same_after_check "with kept queues" 1
ddbsim node set west up -c "$CONF"
ddbsim drain -c "$CONF" -q
expect_rc 0 "drain once west is up"
pass "check leaves broker.queues alone"

# After a kill -9 mid-run the write-ahead logs are there: check reads them,
# and changes neither a database nor a log (SQLite may rebuild its index of
# a log, the -shm file; and the lock file, which held the killed run's pid,
# is left empty).
"$DDBSIM" run -c "$CONF" "$top_srcdir/tests/integration/data/long.lua" -q > "$TMP/run.out" 2>&1 &
RUN_PID=$!
i=0
until grep -q '^resetting no' "$D/nodes" 2>/dev/null; do
	kill -0 "$RUN_PID" 2>/dev/null || { cat "$TMP/run.out"; fail "the long run ended early"; }
	i=$((i + 1))
	[ "$i" -le 1200 ] || fail "the long run did not finish its setup within 120 s"
	sleep 0.1
done
sleep 1
kill -9 "$RUN_PID"
wait "$RUN_PID" 2>/dev/null || true
RUN_PID=
ls "$D"/*.db-wal > /dev/null 2>&1 || fail "no write-ahead log after kill -9: the test proves nothing"
same_after_check "after kill -9" 1 '(-shm|/lock)$'
pass "check after kill -9 changes no database and no log"

# ---- stores missing, empty, or not those of the nodes file ------------------------
ddbsim run -c "$CONF" "$TMP/three.lua" -q
expect_rc 0 "a run"
cp "$D/nodes" "$TMP/nodes.saved"

mv "$D/west.db" "$TMP/west.db"
ddbsim check -c "$CONF"
expect_rc 2 "check with west's store missing"
expect_err "$D/west.db" "check with west's store missing names it"
[ ! -e "$D/west.db" ] || fail "check created $D/west.db"
mv "$TMP/west.db" "$D/west.db"

cp "$D/east.db" "$TMP/east.db"
: > "$D/east.db"
ddbsim check -c "$CONF"
expect_rc 2 "check with east's store empty"
expect_err "$D/east.db" "check with east's store empty names it"
[ ! -s "$D/east.db" ] || fail "check wrote into the empty $D/east.db"
cp "$TMP/east.db" "$D/east.db"
pass "a missing or empty store: exit 2, naming it, nothing created"

# The nodes file does not name west, whose orders are at the center.
grep -v '^west ' "$TMP/nodes.saved" > "$D/nodes"
ddbsim check -c "$CONF"
expect_rc 2 "check with west left out of the nodes file"
expect_err "the central store holds orders of region 'west'" "west left out of the nodes file"
expect_err "$D/nodes does not name: the nodes file does not match the stores" "west left out"
ddbsim drain -c "$CONF"
expect_rc 2 "drain with west left out of the nodes file"
expect_err "the nodes file does not match the stores" "drain with west left out"

# The nodes file names a region whose store has no catalog (a run installs
# one in every region).
cp "$D/east.db" "$D/north.db"
sqlite3 "$D/north.db" "DELETE FROM products; DELETE FROM inventory; DELETE FROM orders"
awk '/^central / { print "north region up 0 0 -" } { print }' "$TMP/nodes.saved" > "$D/nodes"
ddbsim check -c "$CONF"
expect_rc 2 "check with a region without a catalog"
expect_err "$D/nodes names region north, but its store holds no catalog" "a region without a catalog"
rm "$D/north.db"
ddbsim check -c "$CONF"
expect_rc 2 "check with a region without a store"
expect_err "$D/north.db" "a region without a store"
[ ! -e "$D/north.db" ] || fail "check created $D/north.db"
cp "$TMP/nodes.saved" "$D/nodes"
ddbsim check -c "$CONF" -q
expect_rc 0 "check with the right nodes file again"
pass "a nodes file that does not match the stores is an error (exit 2), not failed checks"
