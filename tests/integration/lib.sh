# tests/integration/lib.sh - shared by the integration tests: a scratch
# directory removed on exit, a config pointing at the build tree's plugins,
# and small assertions.  make check exports top_srcdir, top_builddir,
# DDBSIM and DDBSIM_PLUGIN_DIR.
set -eu

: "${top_srcdir:?run me through make check}"
: "${DDBSIM:?run me through make check}"
SCRIPTS="$top_srcdir/scripts/lua"
export DDBSIM_SCRIPTDIR="$SCRIPTS"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ddbsim-test.XXXXXX")
# A test that starts `ddbsim run` in the background records its pid here,
# so that a failure does not leave the run going after the test.
RUN_PID=
stop_run() { [ -z "$RUN_PID" ] || kill -9 "$RUN_PID" 2>/dev/null || true; }
cleanup() { stop_run; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

# write_conf FILE REGIONS CENTRAL DOCUMENTS: a config with the build tree's
# plugins, the data in $TMP/data, the memory transport, and the given
# bodies of the [regions], [central] and [documents] sections.
write_conf() {
	cat > "$1" <<CONF
[ddbsim]
plugin_dir = \${DDBSIM_PLUGIN_DIR}
data_dir = $TMP/data

[transport]
plugin = memory

[regions]
$2

[central]
$3

[documents]
$4
CONF
}

# The embedded default, with the build tree's plugins.
CONF="$TMP/test.conf"
write_conf "$CONF" "plugin = sqlite" "plugin = sqlite" "plugin = sqlite"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# ddbsim ARGS...: runs the program, keeps stdout/stderr in $TMP/out,
# $TMP/err and the exit status in $rc.
ddbsim() {
	rc=0
	"$DDBSIM" "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
}

expect_rc() {
	[ "$rc" -eq "$1" ] || { cat "$TMP/out" "$TMP/err" >&2; fail "$2: exit status $rc, expected $1"; }
}

expect_err() {
	grep -qF -- "$1" "$TMP/err" || { cat "$TMP/err" >&2; fail "$2: stderr lacks '$1'"; }
}

expect_out() {
	grep -qF -- "$1" "$TMP/out" || { cat "$TMP/out" >&2; fail "$2: stdout lacks '$1'"; }
}

# kill_run CONF SCENARIO ROUND DELAY_MS: starts `ddbsim run --seed ROUND`
# in the background and kill -9s it after DELAY_MS; adds one to $mid_run
# when the kill landed mid-run.  A run that finished before the kill (which may still
# have found it exiting) must have succeeded.  Its output: $TMP/run.out.
kill_run() {
	"$DDBSIM" run -c "$1" "$2" --seed "$3" -q > "$TMP/run.out" 2>&1 &
	pid=$!
	RUN_PID=$pid
	sleep "$(awk -v ms="$4" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -9 "$pid" 2>/dev/null || true
	status=0
	wait "$pid" 2>/dev/null || status=$?
	# Killed mid-run: 137.
	case "$status" in
	137) mid_run=$((mid_run + 1)) ;;
	0) ;;
	*) cat "$TMP/run.out"; fail "round $3: run exit status $status" ;;
	esac
}

# drain_killed CONF ROUND DELAY_MS: `ddbsim drain` after a kill_run, its
# report in $TMP/drain.json.  Returns 1 when the run was killed during its
# setup: no drain can make that whole; check refuses it too, and the next
# round's run starts afresh.
drain_killed() {
	ddbsim drain -c "$1" --report "$TMP/drain.json"
	if [ "$rc" -eq 2 ] && grep -q "did not finish (interrupted run)" "$TMP/err"; then
		ddbsim check -c "$1"
		expect_rc 2 "round $2: check after a kill during the setup"
		echo "round $2: killed after $3 ms, during the setup: drain and check refuse it"
		return 1
	fi
	[ "$rc" -eq 0 ] || { cat "$TMP/out" "$TMP/err"; fail "round $2 (kill after $3 ms): drain exit $rc"; }
}

# regions_match_center ROUND: from outside, the regions' orders and the
# center's, counted in SQL, must be as many; sets $regional and $central.
regions_match_center() {
	regional=0
	for r in seattle boston denver; do
		n=$(sqlite3 "$TMP/data/$r.db" "SELECT count(*) FROM orders")
		regional=$((regional + n))
	done
	central=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders")
	[ "$regional" = "$central" ] || fail "round $1: regions hold $regional orders, the center $central"
}

# json FILE FILTER: a jq filter's raw output.
json() { jq -r "$2" "$1"; }
