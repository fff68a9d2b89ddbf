#!/bin/sh
# tests/fuzz/run.sh - runs libFuzzer harnesses for `make fuzz`.
#
#   run.sh SECONDS FUZZ_SRCDIR FUZZ_BUILDDIR NAME...
#
# runs FUZZ_BUILDDIR/fuzz_NAME for SECONDS seconds on its seeds,
# FUZZ_SRCDIR/corpus/NAME/ (only read), with the dictionary
# FUZZ_SRCDIR/NAME.dict if there is one.  What it finds goes to
# FUZZ_BUILDDIR/work/NAME/: corpus/ (the inputs it grew, kept for the next
# run), fuzz.log, and a crash-*, leak-*, timeout-* or oom-* file for a
# finding.  The files a harness writes for each input go to a directory
# of their own in FUZZ_TMPDIR (default /dev/shm), removed afterwards.
# Prints one line per harness, with its execs/s and whether it
# crashed; exits 1 when one did.
set -u
if [ $# -lt 4 ]; then
	echo "usage: run.sh SECONDS FUZZ_SRCDIR FUZZ_BUILDDIR NAME..." >&2
	exit 2
fi
seconds=$1 src=$2 build=$3
shift 3
case $seconds in
''|*[!0-9]*) echo "make fuzz: FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
	exit 2 ;;
esac
src=$(cd "$src" && pwd) && build=$(cd "$build" && pwd) || exit 2

echo "make fuzz: each harness for $seconds s (ASan, UBSan; work in $build/work)"
found=0
for name; do
	prog=$build/fuzz_$name
	seeds=$src/corpus/$name
	work=$build/work/$name
	if [ ! -x "$prog" ] || [ ! -d "$seeds" ]; then
		echo "fuzz_$name: no harness $prog or no seeds in $seeds"
		found=1
		continue
	fi
	mkdir -p "$work/corpus"
	# The files a harness writes for each input: in memory when it can, as
	# a disk may take far longer to create and remove them than the parser
	# takes to read them.
	scratch_base=${FUZZ_TMPDIR:-/dev/shm}
	[ -d "$scratch_base" ] && [ -w "$scratch_base" ] || scratch_base=$work
	scratch=$(mktemp -d "$scratch_base/ddbsim-fuzz-$name.XXXXXX") || exit 2
	set --
	[ -f "$src/$name.dict" ] && set -- "-dict=$src/$name.dict"
	TMPDIR=$scratch "$prog" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds" \
		>"$work/fuzz.log" 2>&1
	rc=$?
	rm -rf "$scratch"
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
	if [ -z "$rate" ]; then # no final stats after a crash: the last status line
		rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' "$work/fuzz.log" | tail -n 1)
		runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$work/fuzz.log" | tail -n 1)
	fi
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/fuzz.log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
		verdict="no crash"
	else
		found=1
		why=$(grep -m 1 -E '^(SUMMARY: |fuzz: |==[0-9]+== ?ERROR: )' "$work/fuzz.log")
		verdict="CRASH (exit $rc): ${artifact:-no input saved} ${why:+($why) }log $work/fuzz.log"
	fi
	printf 'fuzz_%-14s %8s execs/s %11s runs in %s s   %s\n' "$name" "${rate:-?}" "${runs:-?}" \
		"$seconds" "$verdict"
done
[ "$found" -eq 0 ]
