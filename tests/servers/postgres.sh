#!/bin/sh
# tests/servers/postgres.sh - a throwaway PostgreSQL server for tests and
# benchmarks: its own cluster in a directory, on a free port of 127.0.0.1,
# its socket inside that directory.  Nothing outside DIR is touched.
#
#   postgres.sh available          exit 0 when the server programs are installed
#   postgres.sh start DIR [DB...]  initdb in DIR/pg (first time only), start the
#                                  server (again on the same port after a stop),
#                                  create the databases the tests use plus DB...,
#                                  and print shell assignments for eval:
#                                  PGHOST=127.0.0.1 PGPORT=N PGUSER=postgres
#   postgres.sh stop DIR           stop it (fast shutdown), wait until it is down;
#                                  no-op when it is not running
#   postgres.sh psql DIR ARGS...   psql as the superuser on that server
#   postgres.sh bindir             where the server programs are (pgbench too)
#
# $DDBSIM_PG_OPTIONS adds server settings at start, e.g. "-c fsync=off" for
# tests that measure nothing and want speed (clients still commit with
# synchronous_commit on).
#
# As root, initdb and pg_ctl run as the user postgres (initdb refuses root),
# and DIR gets o+x so that user can reach DIR/pg.  The programs are found in
# $DDBSIM_PG_BINDIR, else on PATH, else in /usr/lib/postgresql/*/bin.
# Diagnostics go to stderr; the log of the server is DIR/pg/log.
set -eu

# The databases the tests and etc/postgres.conf use.
DEFAULT_DBS="seattle boston denver central documents testregion allroles replica"

bindir() {
	if [ -n "${DDBSIM_PG_BINDIR:-}" ]; then
		[ -x "$DDBSIM_PG_BINDIR/pg_ctl" ] && { echo "$DDBSIM_PG_BINDIR"; return 0; }
		return 1
	fi
	# On PATH (through symlinks: the other programs are beside the real
	# one).  Debian's /usr/bin has no pg_ctl, only wrappers for the clients.
	p=$(command -v pg_ctl 2>/dev/null || true)
	[ -n "$p" ] && p=$(readlink -f "$p" 2>/dev/null || echo "$p")
	if [ -n "$p" ] && [ -x "$(dirname "$p")/initdb" ] && [ -x "$(dirname "$p")/psql" ]; then
		dirname "$p"
		return 0
	fi
	# The highest version installed (the glob sorts 10 before 9).
	best= bv=0
	for d in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin; do
		[ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ] || continue
		v=$(echo "$d" | sed 's/[^0-9]*\([0-9][0-9]*\).*/\1/')
		[ "${v:-0}" -ge "$bv" ] && { best=$d; bv=${v:-0}; }
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

# as_pg CMD...: runs CMD as the owner of the cluster.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

available() {
	B=$(bindir) || { echo "postgres.sh: no PostgreSQL server programs (initdb, pg_ctl, postgres) found" >&2; return 1; }
	for prog in initdb pg_ctl postgres psql; do
		[ -x "$B/$prog" ] || { echo "postgres.sh: $B/$prog is missing" >&2; return 1; }
	done
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || { echo "postgres.sh: running as root, but there is no user postgres to run the server" >&2; return 1; }
		command -v runuser >/dev/null 2>&1 || { echo "postgres.sh: running as root, but runuser is missing" >&2; return 1; }
	fi
	return 0
}

# A port nobody listens on now: bind port 0 and see what the kernel gives.
free_port() {
	for py in python3 /usr/bin/python3 python; do
		if command -v "$py" >/dev/null 2>&1; then
			"$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null && return 0
		fi
	done
	# No python: a random port in 20000-59999.
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((20000 + r % 40000))
}

emit_env() {
	echo "PGHOST=127.0.0.1; PGPORT=$1; PGUSER=postgres; export PGHOST PGPORT PGUSER"
}

running() {
	[ -f "$PGDIR/data/postmaster.pid" ] && as_pg "$B/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1
}

psql_su() {
	"$B/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(cat "$PGDIR/port")" -U postgres "$@"
}

start() {
	DIR=$1
	shift
	[ -d "$DIR" ] || { echo "postgres.sh: $DIR is not a directory" >&2; exit 1; }
	DIR=$(cd "$DIR" && pwd)
	PGDIR=$DIR/pg
	if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
		mkdir -p "$PGDIR"
		if [ "$(id -u)" -eq 0 ]; then
			chmod o+x "$DIR"
			chown postgres "$PGDIR"
		fi
		chmod 700 "$PGDIR"
		as_pg "$B/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
			> "$PGDIR/initdb.log" 2>&1 ||
			{ cat "$PGDIR/initdb.log" >&2; echo "postgres.sh: initdb failed" >&2; exit 1; }
	fi
	if running; then
		emit_env "$(cat "$PGDIR/port")"
		return 0
	fi
	# Again on the port of the last start, so that clients reconnect; the
	# first time on a free one, tried a few times since another process
	# may take it between the probe and the bind.
	tries=0
	while :; do
		tries=$((tries + 1))
		if [ -f "$PGDIR/port" ]; then
			port=$(cat "$PGDIR/port")
		else
			port=$(free_port)
		fi
		if as_pg "$B/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 60 -s \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $PGDIR -c max_connections=100 ${DDBSIM_PG_OPTIONS:-}" \
			start >/dev/null 2>&1; then
			echo "$port" > "$PGDIR/port.tmp" && mv "$PGDIR/port.tmp" "$PGDIR/port"
			break
		fi
		if [ -f "$PGDIR/port" ] && [ "$tries" -lt 30 ]; then
			sleep 1 # the old port is still in TIME_WAIT or taken: wait for it
			continue
		fi
		if [ "$tries" -ge 5 ]; then
			tail -n 20 "$PGDIR/log" >&2 2>/dev/null || true
			echo "postgres.sh: the server did not start (port $port)" >&2
			exit 1
		fi
	done
	for db in $DEFAULT_DBS "$@"; do
		exists=$(psql_su -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
		[ "$exists" = 1 ] || psql_su -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
	done
	emit_env "$port"
}

stop() {
	DIR=$1
	PGDIR=$DIR/pg
	[ -f "$PGDIR/data/PG_VERSION" ] || return 0
	running || return 0
	as_pg "$B/pg_ctl" -D "$PGDIR/data" -m fast -w -t 60 -s stop >/dev/null
}

cmd=${1:-}
case $cmd in
available)
	available
	;;
start)
	[ $# -ge 2 ] || { echo "usage: postgres.sh start DIR [DB...]" >&2; exit 2; }
	available || exit 1
	B=$(bindir)
	shift
	start "$@"
	;;
stop)
	[ $# -eq 2 ] || { echo "usage: postgres.sh stop DIR" >&2; exit 2; }
	B=$(bindir) || exit 0
	stop "$2"
	;;
bindir)
	bindir
	;;
psql)
	[ $# -ge 2 ] || { echo "usage: postgres.sh psql DIR ARGS..." >&2; exit 2; }
	B=$(bindir)
	PGDIR=$2/pg
	shift 2
	psql_su "$@"
	;;
*)
	echo "usage: postgres.sh available | start DIR [DB...] | stop DIR | psql DIR ARGS... | bindir" >&2
	exit 2
	;;
esac
