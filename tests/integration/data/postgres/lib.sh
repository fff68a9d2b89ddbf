# tests/integration/data/postgres/lib.sh - sourced by the postgres_*.sh tests
# after tests/integration/lib.sh: a throwaway PostgreSQL server in $TMP (on a
# free port of 127.0.0.1), stopped on exit even when the test fails, and:
#   PGHOST PGPORT PGUSER  exported, for ddbsim (etc/postgres.conf) and psql
#   PG_CONF               etc/postgres.conf (data in $TMP/data)
#   pg_sql DB SQL         psql -tA on that server
#   pg_stop, pg_start     stop and start it again (same port, same data)
# Skips (77) when the server programs are not installed or the plugin was not
# built; with DDBSIM_REQUIRE_BACKENDS=1 (CI) that is a failure instead.
PG_SERVER="$top_srcdir/tests/servers/postgres.sh"

pg_missing() {
	if [ "${DDBSIM_REQUIRE_BACKENDS:-0}" = 1 ]; then
		echo "FAIL: $1 (DDBSIM_REQUIRE_BACKENDS=1: a missing backend is a failure)" >&2
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}

sh "$PG_SERVER" available || pg_missing "the PostgreSQL server programs are not installed"
[ -f "$top_builddir/plugins/storage/postgres/.libs/postgres.so" ] ||
	pg_missing "the postgres plugin was not built (configure found no libpq?)"

pg_cleanup() {
	stop_run
	sh "$PG_SERVER" stop "$TMP" || echo "warning: could not stop the PostgreSQL server in $TMP" >&2
	rm -rf "$TMP"
}
trap pg_cleanup EXIT
trap 'exit 1' INT TERM HUP

pg_start() {
	pg_env=$(sh "$PG_SERVER" start "$TMP") || fail "cannot start PostgreSQL (log: $TMP/pg/log)"
	eval "$pg_env"
}

pg_stop() {
	sh "$PG_SERVER" stop "$TMP" || fail "cannot stop PostgreSQL"
}

pg_sql() {
	db=$1
	shift
	sh "$PG_SERVER" psql "$TMP" -d "$db" -tA -c "$*"
}

pg_start
# psql and libpq must not pick up a database or password from the caller.
unset PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS 2>/dev/null || true

# The shipped config, unchanged: the connection from PG*, the data directory
# from DDBSIM_DATA_DIR, the plugins from DDBSIM_PLUGIN_DIR (make check).
PG_CONF="$top_srcdir/etc/postgres.conf"
DDBSIM_DATA_DIR="$TMP/data"
export DDBSIM_DATA_DIR
