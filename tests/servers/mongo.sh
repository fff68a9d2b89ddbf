#!/bin/sh
# tests/servers/mongo.sh - a throwaway MongoDB for the tests: the stand-in
# server (mongo_standin.py: the wire protocol in front of mongomock, with a
# journal), since no mongod can be installed here.  See doc/mongo.md.
#
#   mongo.sh available     exit 0 when the stand-in can run (Debian's python3
#                          with python3-pymongo and python3-mongomock)
#   mongo.sh start DIR     start it with its data, journal, log and pid file in
#                          DIR, on 127.0.0.1 and a free port (the port it had
#                          when DIR holds one: a restart comes back there);
#                          waits until it answers ping, then prints
#                          MONGO_URI=mongodb://127.0.0.1:PORT/ for eval
#   mongo.sh stop DIR      stop it (SIGTERM by its pid file, SIGKILL after 5 s)
#   mongo.sh kill DIR      stop it with SIGKILL, as a crash would
#   mongo.sh ping URI      exit 0 when a server answers ping at URI
#
# MONGO_STANDIN_PYTHON overrides the interpreter (default /usr/bin/python3).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
PY=${MONGO_STANDIN_PYTHON:-/usr/bin/python3}

available() {
	[ -x "$PY" ] || return 1
	"$PY" -c 'import bson, pymongo, mongomock' 2>/dev/null
}

ping_uri() {
	"$PY" - "$1" <<'EOF' 2>/dev/null
import sys, warnings
warnings.simplefilter("ignore")
import pymongo
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=500, connectTimeoutMS=500)
try:
    c.admin.command("ping")
except Exception:
    sys.exit(1)
EOF
}

start() {
	dir=$1
	mkdir -p "$dir"
	if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		echo "mongo.sh: a server already runs from $dir (pid $(cat "$dir/pid"))" >&2
		return 1
	fi
	old_port=
	[ -f "$dir/port" ] && old_port=$(cat "$dir/port")
	"$PY" "$here/mongo_standin.py" --dir "$dir" ${old_port:+--port "$old_port"} \
		>> "$dir/server.log" 2>&1 &
	pid=$!
	echo "$pid" > "$dir/pid"
	i=0
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "mongo.sh: the stand-in exited; its log:" >&2
			cat "$dir/server.log" >&2
			return 1
		fi
		if [ -f "$dir/port" ] && grep -q "listening on 127.0.0.1:$(cat "$dir/port") (pid $pid" "$dir/server.log" 2>/dev/null; then
			uri="mongodb://127.0.0.1:$(cat "$dir/port")/"
			if ping_uri "$uri"; then
				echo "MONGO_URI=$uri"
				return 0
			fi
		fi
		i=$((i + 1))
		if [ "$i" -ge 300 ]; then
			echo "mongo.sh: the stand-in did not answer ping within 30 s; its log:" >&2
			cat "$dir/server.log" >&2
			kill "$pid" 2>/dev/null || true
			return 1
		fi
		sleep 0.1
	done
}

stop() {
	dir=$1
	sig=${2:-TERM}
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -"$sig" "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			if [ "$i" -ge 50 ]; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
			sleep 0.1
		done
	fi
	rm -f "$dir/pid"
}

case "${1:-}" in
available) available ;;
start) [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }; start "$2" ;;
stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" TERM ;;
kill) [ $# -eq 2 ] || { echo "usage: $0 kill DIR" >&2; exit 2; }; stop "$2" KILL ;;
ping) [ $# -eq 2 ] || { echo "usage: $0 ping URI" >&2; exit 2; }; ping_uri "$2" ;;
*) echo "usage: $0 available | start DIR | stop DIR | kill DIR | ping URI" >&2; exit 2 ;;
esac
