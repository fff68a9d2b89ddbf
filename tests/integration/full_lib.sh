# tests/integration/full_lib.sh - the servers of etc/full.conf for a test:
# PostgreSQL (the regions and the center), the MongoDB stand-in (the
# documents) and RabbitMQ (the transport).  Source after lib.sh and
# serve_lib.sh (serve_lib.sh sources it itself when DDBSIM_SERVE_CONFIG=full).
#
# Either a runner started them (serve_full.sh: DDBSIM_FULL_SERVERS names the
# directory of its PostgreSQL server, and PGHOST, PGPORT, PGUSER,
# DDBSIM_MONGO_URI and AMQP_URL are in the environment): they are used as
# they are and left running.  Or this test starts its own, throwaway, as the
# postgres_, mongo_ and rabbitmq_ tests do, and stops them on exit even on
# failure.  Skips (77) only when a server program or a plugin is missing; a
# failure with DDBSIM_REQUIRE_BACKENDS=1.  Sets:
#   CONF        etc/full.conf, unchanged (every connection from the environment)
#   FULL_PG_DIR the directory of the PostgreSQL server (for pg_sql)
#   pg_sql DB SQL   psql -tA on that server
# and exports DDBSIM_DATA_DIR ($TMP/data), DDBSIM_MONGO_URI and AMQP_URL.
# A test's own -d DIR still chooses its data directory.

PG_SERVER="$top_srcdir/tests/servers/postgres.sh"
FULL_OWN=0

# Stops what this test started, whichever helper's trap calls it: the
# mongo and rabbitmq helpers' traps end by calling cleanup, so it is
# replaced by this one before they are sourced.
full_cleanup() {
	stop_serve_hard
	stop_run
	if [ "$FULL_OWN" = 1 ]; then
		sh "$PG_SERVER" stop "$TMP" 2>/dev/null || true
		if [ -n "${BROKER:-}" ]; then
			sh "$RMQ_SERVER" stop "$BROKER/node" 2>/dev/null || true
			rm -rf "$BROKER"
		fi
		[ "${MONGO_OWN:-0}" != 1 ] || sh "$MONGO_SH" stop "$MONGO_DIR" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}

if [ -n "${DDBSIM_FULL_SERVERS:-}" ]; then
	for v in PGHOST PGPORT PGUSER DDBSIM_MONGO_URI AMQP_URL; do
		eval "[ -n \"\${$v:-}\" ]" || fail "DDBSIM_FULL_SERVERS is set, but not $v"
	done
	[ -d "$DDBSIM_FULL_SERVERS/pg" ] || fail "DDBSIM_FULL_SERVERS=$DDBSIM_FULL_SERVERS holds no PostgreSQL server"
	FULL_PG_DIR=$DDBSIM_FULL_SERVERS
else
	FULL_OWN=1
	cleanup() { full_cleanup; }
	# PostgreSQL first: its helper's trap stops it alone (nothing else is
	# running yet); the later helpers' traps call cleanup, which stops all.
	DDBSIM_PG_OPTIONS="-c fsync=off" # these tests measure nothing and restart nothing
	export DDBSIM_PG_OPTIONS
	. "$top_srcdir/tests/integration/data/postgres/lib.sh"
	trap cleanup EXIT
	. "$top_srcdir/tests/integration/data/mongo/lib.sh"
	. "$top_srcdir/tests/integration/data/rabbitmq/broker.sh"
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
	DDBSIM_MONGO_URI=$MONGO_URI
	FULL_PG_DIR=$TMP
fi
# psql and libpq must not pick up a database or password from the caller.
unset PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS DDBSIM_PG_CONNINFO 2>/dev/null || true
PY=/usr/bin/python3

pg_sql() {
	sh "$PG_SERVER" psql "$FULL_PG_DIR" -d "$1" -tA -c "$2"
}

CONF="$top_srcdir/etc/full.conf"
DDBSIM_DATA_DIR="$TMP/data"
export PGHOST PGPORT PGUSER DDBSIM_MONGO_URI AMQP_URL DDBSIM_DATA_DIR
