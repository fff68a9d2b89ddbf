#!/bin/sh
# The storage conformance suite (tests/unit/test_storage) against the mongo
# plugin, on the stand-in (or DDBSIM_TEST_MONGO_URI), for every role the
# plugin declares.  Its databases: this test's prefix, dropped at the end.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/mongo/lib.sh"

SUITE="$top_builddir/tests/unit/test_storage"
[ -x "$SUITE" ] || fail "$SUITE is not built"

rc=0
TMPDIR="$TMP" DDBSIM_TEST_STORAGE=mongo \
	DDBSIM_TEST_STORAGE_OPTIONS="uri=$MONGO_URI;database_prefix=$MONGO_PREFIX" \
	"$SUITE" > "$TMP/suite.out" 2>&1 || rc=$?
cat "$TMP/suite.out"
mongo_drop_prefix
[ "$rc" -eq 0 ] || fail "the conformance suite failed on mongo (exit $rc)"
# Every test but the SQLite plugin's own must have run.
skipped=$(grep "^\[  SKIPPED \] test_sqlite_" "$TMP/suite.out" | sort -u | wc -l)
grep '^\[  SKIPPED \] test_' "$TMP/suite.out" | grep -v ' test_sqlite_' &&
	fail "conformance tests skipped on mongo"
passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$TMP/suite.out")
pass "storage conformance on mongo: $passed passed ($skipped SQLite-only skipped)"
