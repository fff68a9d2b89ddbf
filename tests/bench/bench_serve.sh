#!/bin/sh
# bench_serve.sh - make bench-serve: POST /api/v1/orders over keep-alive
# from 8 concurrent clients (http_load) against `ddbsim serve` on the
# embedded default (live.lua, no background workload, a fresh data dir, a
# free port), then, in the same run, against plain_mhd (a minimal
# libmicrohttpd server answering a fixed JSON body: the ceiling of the
# HTTP layer here).  Prints both, ddbsim's p50/p99 latency and the ratio
# line; fails when a request failed, an order was not accepted, or
# ddbsim's checks do not hold at shutdown.
#
# The machine is shared and its speed drifts: each of ROUNDS rounds measures
# both back to back, and the ratio printed is the median round's.
#
#   bench_serve.sh DDBSIM HTTP_LOAD PLAIN_MHD [SECONDS] [CLIENTS] [ROUNDS]
set -eu
DDBSIM=$1 LOAD=$2 PLAIN=$3 SECONDS_EACH=${4:-5} CLIENTS=${5:-8} ROUNDS=${6:-3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ddbsim-bench-serve.XXXXXX")
PID=
cleanup() { [ -z "$PID" ] || kill -9 "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

# start NAME CMD...: runs CMD in the background, waits for its
# "listening on http://127.0.0.1:PORT/" line; sets PID and PORT.
start() {
	name=$1
	shift
	"$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
	PID=$!
	for _ in $(seq 1 300); do
		case "$(head -n 1 "$TMP/$name.out" 2>/dev/null || true)" in
		"listening on http://127.0.0.1:"*)
			PORT=$(head -n 1 "$TMP/$name.out" | sed 's|.*:\([0-9]*\)/$|\1|')
			return 0 ;;
		esac
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/$name.out" "$TMP/$name.err" >&2
	echo "bench-serve: $name did not start" >&2
	exit 2
}

# stop: SIGTERM, then waits at most 60 s; the exit status in $rc.
stop() {
	kill -TERM "$PID"
	rc=0
	timeout 60 sh -c "while kill -0 $PID 2>/dev/null; do sleep 0.1; done" || kill -9 "$PID"
	wait "$PID" || rc=$?
	PID=
}

field() { # field NAME LINE: the value after NAME in a http_load line
	echo "$2" | tr ' ' '\n' | sed -n "/^$1\$/{n;p;}"
}

echo "bench-serve: $CLIENTS clients, keep-alive, POST /api/v1/orders, $SECONDS_EACH s each," \
	"$ROUNDS rounds of ddbsim then the plain server"
ratios=
for round in $(seq 1 "$ROUNDS"); do
	rm -rf "$TMP/data"
	start ddbsim "$DDBSIM" serve --listen 127.0.0.1:0 --param background=no -d "$TMP/data"
	ddbsim_line=$(timeout $((SECONDS_EACH + 60)) "$LOAD" 127.0.0.1 "$PORT" "$CLIENTS" "$SECONDS_EACH") ||
		{ echo "bench-serve: requests to ddbsim failed: $ddbsim_line" >&2; exit 1; }
	stop
	echo "round $round: ddbsim serve (live.lua, background=no, SQLite + memory): $ddbsim_line"
	if [ "$rc" -ne 0 ] || ! grep -q "all checks hold" "$TMP/ddbsim.out"; then
		cat "$TMP/ddbsim.out" "$TMP/ddbsim.err" >&2
		echo "bench-serve: ddbsim serve exited $rc or its checks do not hold" >&2
		exit 1
	fi
	accepted=$(field accepted "$ddbsim_line")
	total=$(field requests "$ddbsim_line")
	[ "$accepted" = "$total" ] ||
		{ echo "bench-serve: ddbsim accepted $accepted of $total orders" >&2; exit 1; }

	start plain "$PLAIN"
	plain_line=$(timeout $((SECONDS_EACH + 60)) "$LOAD" 127.0.0.1 "$PORT" "$CLIENTS" "$SECONDS_EACH") ||
		{ echo "bench-serve: requests to plain_mhd failed: $plain_line" >&2; exit 1; }
	stop
	echo "round $round: plain MHD server (one internal polling thread, epoll): $plain_line"
	d=$(field per_s "$ddbsim_line")
	p=$(field per_s "$plain_line")
	r=$(awk -v d="$d" -v p="$p" 'BEGIN { printf "%.3f", d / p }')
	echo "round $round: ratio $r"
	ratios="$ratios $r"
	# The latency of the round whose ratio is the median, printed below.
	echo "$r $(field p50_ms "$ddbsim_line") $(field p99_ms "$ddbsim_line")" >> "$TMP/rounds"
done
median=$(sort -n "$TMP/rounds" | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }')
set -- $median
echo "ddbsim latency: p50 $2 ms, p99 $3 ms (the median round)"
printf 'ratio ddbsim orders/s / plain MHD server: %.2f (median of %s rounds:%s; target >= 0.5)\n' \
	"$1" "$ROUNDS" "$ratios"
