# tests/integration/data/mongo/lib.sh - sourced by the MongoDB tests after
# tests/integration/lib.sh: a MongoDB server for the test, an independent
# client (python3-pymongo) to look at it from outside, and cleanup.
#
# The server: DDBSIM_TEST_MONGO_URI when set (a real mongod; the test then
# starts nothing), else the stand-in (tests/servers/mongo.sh) in $TMP/mongo,
# stopped on exit even on failure.  Each test keeps its databases apart
# with a prefix of its own ($MONGO_PREFIX), so tests can share a server.
#
# A test skips (77) only when the stand-in cannot run (Debian's python3
# with python3-pymongo and python3-mongomock missing); with
# DDBSIM_REQUIRE_BACKENDS=1 that is a failure.

MONGO_SH="$top_srcdir/tests/servers/mongo.sh"
MONGO_DATA="$top_srcdir/tests/integration/data/mongo"
PY=${MONGO_STANDIN_PYTHON:-/usr/bin/python3}
MONGO_DIR="$TMP/mongo"
MONGO_OWN=0
MONGO_PREFIX="t$$_"

mongo_cleanup() {
	stop_run
	if [ "$MONGO_OWN" = 1 ]; then
		sh "$MONGO_SH" stop "$MONGO_DIR" || true
	fi
	cleanup
}
trap mongo_cleanup EXIT
trap 'exit 1' INT TERM

skip() {
	if [ "${DDBSIM_REQUIRE_BACKENDS:-0}" = 1 ]; then
		echo "FAIL: $* (DDBSIM_REQUIRE_BACKENDS=1: no skipping)" >&2
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

[ -f "$top_builddir/plugins/storage/mongo/.libs/mongo.so" ] ||
	case "$0" in
	*mongo_standin.sh) ;; # needs no plugin
	*) skip "the mongo plugin is not built (configure found no libmongoc-1.0)" ;;
	esac

if [ -n "${DDBSIM_TEST_MONGO_URI:-}" ]; then
	MONGO_URI=$DDBSIM_TEST_MONGO_URI
	"$PY" -c 'import pymongo' 2>/dev/null ||
		skip "python3-pymongo is needed to look at the server from outside"
else
	sh "$MONGO_SH" available ||
		skip "the MongoDB stand-in cannot run: install python3-pymongo and python3-mongomock"
	MONGO_OWN=1 # from here on, stopped on exit (stop is harmless if it never started)
	out=$(sh "$MONGO_SH" start "$MONGO_DIR") || fail "the MongoDB stand-in did not start"
	eval "$out"
fi
export MONGO_URI

# mongo_restart [kill]: stops the stand-in (SIGTERM, or SIGKILL with kill)
# and starts it again on the same port with the same data.
mongo_restart() {
	[ "$MONGO_OWN" = 1 ] || fail "mongo_restart needs the stand-in"
	if [ "${1:-}" = kill ]; then
		sh "$MONGO_SH" kill "$MONGO_DIR"
	else
		sh "$MONGO_SH" stop "$MONGO_DIR"
	fi
	out=$(sh "$MONGO_SH" start "$MONGO_DIR") || fail "the MongoDB stand-in did not restart"
	eval "$out"
}

# mongo_py SCRIPT ARGS...: a Python check from tests/integration/data/mongo.
mongo_py() {
	script=$1
	shift
	"$PY" "$MONGO_DATA/$script" "$@"
}

# mongo_drop_prefix: drops every database of this test.
mongo_drop_prefix() {
	"$PY" - "$MONGO_URI" "$MONGO_PREFIX" <<'PY' || true
import sys, warnings
warnings.simplefilter("ignore")
import pymongo
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000)
for name in c.list_database_names():
    if name.startswith(sys.argv[2]):
        c.drop_database(name)
PY
}
