#!/bin/sh
# The bundled scenarios with every store on PostgreSQL (etc/postgres.conf:
# the regions on databases named after them, the center and the documents on
# central): every check holds, and the final state is the one the embedded
# SQLite stores reach with the same seed (same state_hash), so the two
# plugins behave alike.  check and drain afterwards find nothing to do.
#
# The server runs with fsync=off to save time: this test measures nothing
# and restarts no server; the plugin still commits with synchronous_commit
# on.  (postgres_restart.sh and the benchmark keep fsync on.)
. "$top_srcdir/tests/integration/lib.sh"
DDBSIM_PG_OPTIONS="-c fsync=off"
export DDBSIM_PG_OPTIONS
. "$top_srcdir/tests/integration/data/postgres/lib.sh"

for s in ecommerce flash_sale customers chaos; do
	seed=11
	ddbsim run -c "$PG_CONF" "$SCRIPTS/$s.lua" --seed $seed --report "$TMP/$s.pg.json" -q
	expect_rc 0 "$s on PostgreSQL"
	[ "$(json "$TMP/$s.pg.json" .all_checks_hold)" = true ] || fail "$s: a check failed"
	ddbsim run -c "$CONF" "$SCRIPTS/$s.lua" --seed $seed -d "$TMP/sqlite-$s" --report "$TMP/$s.sq.json" -q
	expect_rc 0 "$s on SQLite"
	pg=$(json "$TMP/$s.pg.json" .state_hash)
	sq=$(json "$TMP/$s.sq.json" .state_hash)
	[ "$pg" = "$sq" ] || fail "$s seed $seed: state_hash $pg on PostgreSQL, $sq on SQLite"
	accepted=$(json "$TMP/$s.pg.json" .orders.accepted)
	[ "$accepted" = "$(json "$TMP/$s.sq.json" .orders.accepted)" ] ||
		fail "$s: accepted orders differ between PostgreSQL and SQLite"
	pass "$s: all checks hold on PostgreSQL, $accepted orders; state_hash $pg as on SQLite"
done

# The last run's stores, reopened: nothing to drain, every check holds.
ddbsim check -c "$PG_CONF" -q
expect_rc 0 "check after the runs"
ddbsim drain -c "$PG_CONF" -q
expect_rc 0 "drain after the runs"
# One database per region, the center's and the documents' on central.
for db in seattle boston denver; do
	n=$(pg_sql "$db" "SELECT count(*) FROM orders")
	[ "$n" -gt 0 ] || fail "no orders in database $db"
done
pass "check and drain hold on the finished stores"
