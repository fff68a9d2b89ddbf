#!/bin/sh
# bench_postgres.sh - make bench-postgres: ddbsim's orders per second with
# its regions and center on PostgreSQL beside pgbench's TPC-B-like
# transactions per second, on the same throwaway server, in the same run,
# at the same number of connections (4) and with synchronous_commit on.
#
#   ddbsim:  tests/bench/bench_pg.lua, 3 regions and the center on
#            PostgreSQL, one connection each (4 in all; the documents store
#            is SQLite, off the server); every order accepted; its rate is
#            accepted orders over the time until sync drained, as reported.
#   pgbench: -i -s 4, then TPC-B-like with -c 4 -j 2 for SECONDS.
# Interleaved, twice each, so that drift on a shared machine hits both
# sides; the best of each is compared.  Target: ratio >= 2.0.
#
# Usage: bench_postgres.sh [SECONDS [ORDERS]]; the environment gives DDBSIM,
# DDBSIM_PLUGIN_DIR, DDBSIM_SCRIPTDIR and top_srcdir (the make rule does).
set -eu

seconds=${1:-15}
orders=${2:-60000}
: "${DDBSIM:?}" "${DDBSIM_PLUGIN_DIR:?}" "${top_srcdir:?}"
server="$top_srcdir/tests/servers/postgres.sh"

if ! sh "$server" available; then
	echo "bench-postgres: the PostgreSQL server programs are not installed: skipped"
	exit 0
fi
B=$(sh "$server" bindir)
[ -x "$B/pgbench" ] || { echo "bench-postgres: $B/pgbench is missing" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/ddbsim-bench-pg.XXXXXX")
trap 'sh "$server" stop "$dir" || true; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP
env=$(sh "$server" start "$dir" bench) || { echo "bench-postgres: cannot start PostgreSQL" >&2; exit 1; }
eval "$env"
sql() { sh "$server" psql "$dir" -d "$1" -tA -c "$2"; }

cat > "$dir/bench.conf" <<EOF
[transport]
plugin = memory

[regions]
plugin = postgres
synchronous_commit = on

[central]
plugin = postgres
dbname = central
synchronous_commit = on

[documents]
plugin = sqlite
synchronous = NORMAL
EOF

echo "bench-postgres: PostgreSQL $(sql postgres 'SHOW server_version') on 127.0.0.1:$PGPORT in $dir;" \
	"synchronous_commit=$(sql postgres 'SHOW synchronous_commit'), fsync=$(sql postgres 'SHOW fsync')"
"$B/pgbench" -i -s 4 -q bench > "$dir/pgbench-init.log" 2>&1 ||
	{ cat "$dir/pgbench-init.log" >&2; exit 1; }

# pgbench for $seconds: its TPS.
run_pgbench() {
	"$B/pgbench" -c 4 -j 2 -T "$seconds" bench > "$dir/pgbench.log" 2>&1 ||
		{ cat "$dir/pgbench.log" >&2; exit 1; }
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$dir/pgbench.log" | head -n 1
}

# ddbsim on the bench scenario: "ORDERS_PER_S ACCEPTED MAX_CONNECTIONS" (the
# most connections it held at once).
run_ddbsim() {
	rm -rf "$dir/data"
	"$DDBSIM" run "$top_srcdir/tests/bench/bench_pg.lua" -c "$dir/bench.conf" -d "$dir/data" \
		--param "orders=$orders" --report "$dir/report.json" -q > "$dir/ddbsim.log" 2>&1 &
	pid=$!
	maxconn=0
	while kill -0 "$pid" 2>/dev/null; do
		n=$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ddbsim-%'" 2>/dev/null || echo 0)
		[ "${n:-0}" -gt "$maxconn" ] && maxconn=$n
		sleep 0.5
	done
	wait "$pid" || { cat "$dir/ddbsim.log" >&2; echo "bench-postgres: ddbsim failed" >&2; exit 1; }
	jq -e '.all_checks_hold' "$dir/report.json" > /dev/null ||
		{ echo "bench-postgres: a check failed in the ddbsim run" >&2; exit 1; }
	accepted=$(jq -r '.orders.accepted' "$dir/report.json")
	generated=$(jq -r '.orders.generated' "$dir/report.json")
	[ "$accepted" = "$generated" ] ||
		{ echo "bench-postgres: ddbsim accepted $accepted of $generated orders" >&2; exit 1; }
	echo "$(jq -r '.throughput.orders_per_second' "$dir/report.json") $accepted $maxconn"
}

best_pg=0 best_sim=0
for round in 1 2; do
	tps=$(run_pgbench)
	set -- $(run_ddbsim)
	ops=$1 accepted=$2 maxconn=$3
	echo "  round $round: pgbench TPC-B-like -c 4 -j 2: $(printf '%.0f' "$tps") tps   " \
		"ddbsim: $(printf '%.0f' "$ops") orders/s ($accepted orders, $maxconn connections seen)"
	best_pg=$(awk -v a="$best_pg" -v b="$tps" 'BEGIN { print (b > a ? b : a) }')
	best_sim=$(awk -v a="$best_sim" -v b="$ops" 'BEGIN { print (b > a ? b : a) }')
done
ratio=$(awk -v s="$best_sim" -v p="$best_pg" 'BEGIN { printf "%.2f", s / p }')
echo "ratio ddbsim orders/s / pgbench tps: $ratio (target >= 2.0; best of 2 each:" \
	"$(printf '%.0f' "$best_sim") / $(printf '%.0f' "$best_pg"))"
awk -v r="$ratio" 'BEGIN { exit !(r >= 2.0) }'
