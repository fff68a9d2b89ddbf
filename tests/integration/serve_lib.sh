# tests/integration/serve_lib.sh - for the tests of `ddbsim serve`: start a
# server on a free port, wait for its "listening on" line, call the API,
# stop it by its pid.  Source after lib.sh.
#
# DDBSIM_SERVE_CONFIG chooses the config the API tests run on ($CONF, which
# they pass to every ddbsim command):
#   embedded (default)  lib.sh's: SQLite files and the memory transport
#   full                etc/full.conf, unchanged: PostgreSQL, the MongoDB
#                       stand-in and RabbitMQ (full_lib.sh starts them, or
#                       reuses a runner's: serve_full.sh)
# $SERVE_CONFIG says which; $EMBEDDED_CONF is lib.sh's config either way.

SERVE_PID=
SERVE_URL=
PY=/usr/bin/python3
stop_serve_hard() { [ -z "$SERVE_PID" ] || kill -9 "$SERVE_PID" 2>/dev/null || true; }
trap 'stop_serve_hard; cleanup' EXIT INT TERM

EMBEDDED_CONF=$CONF
SERVE_CONFIG=${DDBSIM_SERVE_CONFIG:-embedded}
case "$SERVE_CONFIG" in
embedded) ;;
full) . "$top_srcdir/tests/integration/full_lib.sh" ;;
*) fail "DDBSIM_SERVE_CONFIG=$SERVE_CONFIG: embedded or full" ;;
esac

# start_serve NAME ARGS...: `ddbsim serve --listen 127.0.0.1:0 ARGS` in the
# background, stdout in $TMP/NAME.out, stderr in $TMP/NAME.err; sets
# SERVE_PID and SERVE_URL (http://127.0.0.1:PORT, no trailing slash).
start_serve() {
	name=$1
	shift
	"$DDBSIM" serve --listen 127.0.0.1:0 "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	SERVE_PID=$!
	SERVE_URL=
	for _ in $(seq 1 300); do
		line=$(head -n 1 "$TMP/$name.out" 2>/dev/null || true)
		case "$line" in
		"listening on http://"*) SERVE_URL=${line#listening on }; SERVE_URL=${SERVE_URL%/}; return 0 ;;
		esac
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/$name.out" "$TMP/$name.err" >&2
	fail "$name: ddbsim serve did not say where it listens"
}

# stop_serve [SIGNAL]: ends the server (TERM by default) and waits for it,
# at most 60 s; its exit status in $serve_rc.
stop_serve() {
	kill -"${1:-TERM}" "$SERVE_PID" 2>/dev/null || true
	serve_rc=0
	for _ in $(seq 1 600); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SERVE_PID" 2>/dev/null && { kill -9 "$SERVE_PID"; fail "the server did not stop in 60 s"; }
	wait "$SERVE_PID" || serve_rc=$?
	SERVE_PID=
}

# end_session NAME: POST /api/v1/shutdown (202); the server started as NAME
# exits 0 and its report says every check holds; its state hash in
# $session_hash.
end_session() {
	api POST /api/v1/shutdown
	expect_status 202 "$1: shutdown"
	stop_serve TERM
	[ "$serve_rc" -eq 0 ] || { cat "$TMP/$1.out" "$TMP/$1.err" >&2; fail "$1: serve exited $serve_rc"; }
	grep -q "all checks hold" "$TMP/$1.out" || { cat "$TMP/$1.out" >&2; fail "$1: not every check holds"; }
	session_hash=$(sed -n 's/.*state_hash[^0-9a-f]*\([0-9a-f]\{16\}\).*/\1/p' "$TMP/$1.out" | head -n 1)
	[ -n "$session_hash" ] || { cat "$TMP/$1.out" >&2; fail "$1: no state hash in serve's report"; }
}

# api METHOD PATH [BODY]: one call; the status in $status, the body in
# $TMP/body (and $body).
api() {
	status=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$1" ${3:+--data-binary "$3"} \
	         -H 'Content-Type: application/json' --max-time 30 "$SERVE_URL$2") || status=000
	body=$(cat "$TMP/body")
}

# expect_status CODE WHAT: the last call's status.
expect_status() {
	[ "$status" = "$1" ] || fail "$2: status $status, expected $1: $body"
}

# json_get EXPR: a value of the last body, by a Python expression on d.
json_get() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TMP/body" "$1"
}
