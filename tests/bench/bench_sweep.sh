#!/bin/sh
# bench_sweep.sh DDBSIM RUNS - make bench-sweep: RUNS chaos.lua seeds with
# --jobs 1, then the same seeds with --jobs 2, on SQLite and the memory
# transport; prints each sweep's runs per second and their ratio (the target
# on 2 cores: at least 1.7).  Needs DDBSIM_PLUGIN_DIR and DDBSIM_SCRIPTDIR.
set -eu
ddbsim=$1
runs=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddbsim-bench-sweep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cat > "$tmp/bench.conf" <<CONF
[ddbsim]
plugin_dir = \${DDBSIM_PLUGIN_DIR}

[transport]
plugin = memory

[regions]
plugin = sqlite

[central]
plugin = sqlite

[documents]
plugin = sqlite
CONF
now() { date +%s.%N; }
echo "bench-sweep: $runs chaos.lua seeds, $(getconf _NPROCESSORS_ONLN) cores online, load $(cut -d' ' -f1-3 /proc/loadavg)"
for jobs in 1 2; do
	t0=$(now)
	"$ddbsim" run -c "$tmp/bench.conf" chaos.lua --runs "$runs" --seed 1 --jobs "$jobs" -q \
		-d "$tmp/data" > "$tmp/out.$jobs" || { cat "$tmp/out.$jobs"; exit 1; }
	t1=$(now)
	tail -n 1 "$tmp/out.$jobs"
	awk -v a="$t0" -v b="$t1" -v n="$runs" -v j="$jobs" \
		'BEGIN { printf "sweep --jobs %d: %.2f s, %.2f runs/s\n", j, b - a, n / (b - a) }' \
		| tee "$tmp/rate.$jobs"
done
r1=$(sed 's/.* s, \([0-9.]*\) runs\/s/\1/' "$tmp/rate.1")
r2=$(sed 's/.* s, \([0-9.]*\) runs\/s/\1/' "$tmp/rate.2")
cmp -s "$tmp/out.1" "$tmp/out.2" || { echo "bench-sweep: --jobs 1 and --jobs 2 printed different results"; exit 1; }
awk -v a="$r1" -v b="$r2" 'BEGIN { printf "ratio sweep runs/s jobs=2 / jobs=1: %.2f (target >= 1.7)\n", b / a }'
