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

# The embedded default, with the build tree's plugins.
CONF="$TMP/test.conf"
cat > "$CONF" <<CONF
[ddbsim]
plugin_dir = \${DDBSIM_PLUGIN_DIR}
data_dir = $TMP/data

[transport]
plugin = memory

[regions]
plugin = sqlite

[central]
plugin = sqlite

[documents]
plugin = sqlite
CONF

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

# json FILE FILTER: a jq filter's raw output.
json() { jq -r "$2" "$1"; }
