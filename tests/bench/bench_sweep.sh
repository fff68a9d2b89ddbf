#!/bin/sh
# bench_sweep.sh DDBSIM RUNS - make bench-sweep: RUNS chaos.lua seeds with
# --jobs 1 and the same seeds with --jobs 2, on SQLite and the memory
# transport, in 4 paired rounds of RUNS/4 seeds (jobs 1, then jobs 2, on the
# same seeds), so that a change in the machine's load falls on both alike;
# prints each round, the runs per second of each over all rounds and their
# ratio (the target on 2 cores: at least 1.7).  The two must print the same
# results.  Needs DDBSIM_PLUGIN_DIR and DDBSIM_SCRIPTDIR.
#
# The SQLite stores run with synchronous = OFF: a sweep throws its stores
# away, and no simulated fault loses what the operating system holds, so
# every seed ends in the same state as with the default (the state hashes
# are the same); with the default, each run waits for some 60 disk syncs,
# which two workers on one disk cannot overlap, and the bench would
# measure the disk rather than the sweep.
set -eu
ddbsim=$1
runs=$2
rounds=4
per=$((runs / rounds))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddbsim-bench-sweep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cat > "$tmp/bench.conf" <<CONF
[ddbsim]
plugin_dir = \${DDBSIM_PLUGIN_DIR}

[transport]
plugin = memory

[regions]
plugin = sqlite
synchronous = OFF

[central]
plugin = sqlite
synchronous = OFF

[documents]
plugin = sqlite
synchronous = OFF
CONF
now() { date +%s.%N; }
echo "bench-sweep: $((per * rounds)) chaos.lua seeds in $rounds rounds, SQLite synchronous=OFF, $(getconf _NPROCESSORS_ONLN) cores online, load $(cut -d' ' -f1-3 /proc/loadavg)"
t1=0
t2=0
for round in $(seq 1 $rounds); do
	seed=$(( (round - 1) * per + 1 ))
	for jobs in 1 2; do
		start=$(now)
		"$ddbsim" run -c "$tmp/bench.conf" chaos.lua --runs "$per" --seed "$seed" --jobs "$jobs" \
			-q -d "$tmp/data" > "$tmp/out.$jobs" || { cat "$tmp/out.$jobs"; exit 1; }
		end=$(now)
		eval "s$jobs=\$(awk -v a=\"\$start\" -v b=\"\$end\" 'BEGIN { printf \"%.3f\", b - a }')"
	done
	cmp -s "$tmp/out.1" "$tmp/out.2" || { echo "bench-sweep: --jobs 1 and --jobs 2 printed different results"; exit 1; }
	tail -n 1 "$tmp/out.1"
	awk -v r="$round" -v n="$per" -v a="$s1" -v b="$s2" 'BEGIN {
		printf "  round %d: --jobs 1 %6.2f runs/s   --jobs 2 %6.2f runs/s   ratio %.2f\n",
		       r, n / a, n / b, a / b }'
	t1=$(awk -v t="$t1" -v s="$s1" 'BEGIN { printf "%.3f", t + s }')
	t2=$(awk -v t="$t2" -v s="$s2" 'BEGIN { printf "%.3f", t + s }')
done
awk -v n="$((per * rounds))" -v a="$t1" -v b="$t2" 'BEGIN {
	printf "sweep --jobs 1: %.2f runs/s (%.1f s); --jobs 2: %.2f runs/s (%.1f s)\n", n / a, a, n / b, b
	printf "ratio sweep runs/s jobs=2 / jobs=1: %.2f (target >= 1.7)\n", a / b }'
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
