#!/bin/sh
# The storage conformance suite (tests/unit/test_storage) against the
# postgres plugin on a throwaway server: every test runs, none skipped but
# the SQLite-only ones.  Then what only this plugin has: its options, a
# server that is not there, the schema it leaves (global keys, no SERIAL at
# the center, bytewise keys).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/postgres/lib.sh"

suite="$top_builddir/tests/unit/test_storage"
[ -x "$suite" ] || fail "$suite is not built"

# Nodes testregion, central, documents, allroles, replica: each its own
# database, named after the node (created by the plugin when missing).
rc=0
DDBSIM_TEST_STORAGE=postgres \
DDBSIM_TEST_STORAGE_OPTIONS="host=$PGHOST;port=$PGPORT;user=$PGUSER;connect_timeout=10" \
	"$suite" > "$TMP/suite.out" 2>&1 || rc=$?
cat "$TMP/suite.out"
[ "$rc" -eq 0 ] || fail "conformance suite: exit status $rc"
grep -q "serves: regional central documents customers" "$TMP/suite.out" ||
	fail "the plugin does not declare every role and the customer operations"
# Skipped: the SQLite-only tests, nothing else.
skipped=$(sed -n 's/^\[  SKIPPED \] \(test_[a-z_]*\)$/\1/p' "$TMP/suite.out" | sort -u)
for t in $skipped; do
	case $t in
	test_sqlite_*) ;;
	*) fail "conformance test $t was skipped" ;;
	esac
done
passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\.$/\1/p' "$TMP/suite.out")
[ "${passed:-0}" -ge 40 ] || fail "only ${passed:-0} conformance tests passed"
pass "conformance suite: $passed tests passed against PostgreSQL; skipped only: $(echo $skipped)"

# The schema, seen from psql.
[ "$(pg_sql central "SELECT count(*) FROM information_schema.columns
	WHERE table_name IN ('central_orders', 'central_products') AND column_default LIKE 'nextval%'")" = 0 ] ||
	fail "a SERIAL column at the center"
[ "$(pg_sql central "SELECT data_type FROM information_schema.columns
	WHERE table_name = 'central_orders' AND column_name = 'id'")" = text ] ||
	fail "central_orders.id is not a text key"
[ "$(pg_sql central "SELECT collation_name FROM information_schema.columns
	WHERE table_name = 'central_orders' AND column_name = 'id'")" = C ] ||
	fail "central_orders.id is not in the C collation"
[ "$(pg_sql testregion "SELECT is_identity || identity_generation FROM information_schema.columns
	WHERE table_name = 'outbox' AND column_name = 'seq'")" = YESALWAYS ] ||
	fail "outbox.seq is not GENERATED ALWAYS AS IDENTITY"
# No id can be forced into the sequence (what left seed systems' sequences
# behind).
if pg_sql testregion "INSERT INTO outbox (seq, origin, kind, state, created_at_us)
	VALUES (1000, 'x', 1, 0, 0)" > /dev/null 2>&1; then
	fail "an explicit outbox seq was accepted"
fi
[ "$(pg_sql documents "SELECT data_type FROM information_schema.columns
	WHERE table_name = 'order_product' AND column_name = 'doc'")" = jsonb ] ||
	fail "order logs are not jsonb documents"
pass "schema: global text keys in C collation, no SERIAL at the center, jsonb documents"

# Options and errors, through the program.
cat > "$TMP/bad.conf" <<EOF
[regions]
plugin = postgres
synchronous_commit = sometimes
[central]
plugin = sqlite
[documents]
plugin = sqlite
EOF
ddbsim run -c "$TMP/bad.conf" -d "$TMP/bad" -q
expect_rc 2 "bad synchronous_commit"
expect_err "synchronous_commit = 'sometimes'" "bad synchronous_commit named"

for conninfo in "host=127.0.0.1 port=notaport" "host=127.0.0.1 no_such_setting=1" "host='unterminated"; do
	sed "s/^synchronous_commit = .*/conninfo = $conninfo/" "$TMP/bad.conf" > "$TMP/bad2.conf"
	ddbsim run -c "$TMP/bad2.conf" -d "$TMP/bad" -q
	expect_rc 2 "conninfo $conninfo"
	expect_err "option conninfo" "conninfo $conninfo: named"
	expect_err "(INVALID)" "conninfo $conninfo: a configuration error"
done

# A port nobody listens on: UNAVAILABLE at open, with libpq's reason.
dead_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 1)
sed "s/^synchronous_commit = .*/port = $dead_port/" "$TMP/bad.conf" > "$TMP/dead.conf"
PGHOST=127.0.0.1 ddbsim run -c "$TMP/dead.conf" -d "$TMP/bad" -q
expect_rc 2 "no server"
expect_err "cannot connect" "no server: why"
expect_err "UNAVAILABLE" "no server: status"

# create_database = no: a missing database is an error, not created.
sed "s/^synchronous_commit = .*/create_database = no/" "$TMP/bad.conf" > "$TMP/nocreate.conf"
printf '[region.nowhere_db]\nplugin = postgres\ncreate_database = no\n' >> "$TMP/nocreate.conf"
cat > "$TMP/nowhere.lua" <<'EOF'
return {
  name = "nowhere", duration = 1, regions = { "nowhere_db" },
  catalog = { { sku = "A", name = "A", price = 1, stock = 1 } },
  workload = { rate = 1, order = function() return { sku = "A", quantity = 1 } end },
}
EOF
ddbsim run -c "$TMP/nocreate.conf" "$TMP/nowhere.lua" -d "$TMP/bad" -q
expect_rc 2 "create_database = no"
expect_err 'database "nowhere_db" does not exist' "create_database = no: the missing database is named"
[ "$(pg_sql postgres "SELECT count(*) FROM pg_database WHERE datname = 'nowhere_db'")" = 0 ] ||
	fail "create_database = no created the database"
pass "options checked; a missing server is UNAVAILABLE; create_database = no creates nothing"
