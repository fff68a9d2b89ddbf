#!/bin/sh
# The MongoDB stand-in's own test: an independent client (python3-pymongo)
# checks that it enforces what the mongo plugin relies on - duplicate keys
# refused with code 11000 on _id and on unique indexes, upserts, conditional
# updates, string _ids, 64-bit integers, bytewise sort, cursors - and that
# data and indexes survive a restart (SIGTERM) and a crash (SIGKILL).
# With DDBSIM_TEST_MONGO_URI the same checks run against that server,
# without the restarts.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/mongo/lib.sh"

DB="${MONGO_PREFIX}standin"
mongo_py standin_test.py "$MONGO_URI" "$DB" write || fail "the server does not do what the plugin relies on"
pass "duplicate keys refused (11000), upserts, conditional updates, types, sort, cursors"

if [ "$MONGO_OWN" = 1 ]; then
	mongo_restart
	mongo_py standin_test.py "$MONGO_URI" "$DB" again || fail "after a restart (SIGTERM)"
	pass "data, indexes and their uniqueness survive a restart"
	mongo_restart kill
	mongo_py standin_test.py "$MONGO_URI" "$DB" check || fail "after a crash (SIGKILL)"
	pass "and a crash"
else
	echo "DDBSIM_TEST_MONGO_URI is set: not restarting a server this test does not own"
fi
mongo_py standin_test.py "$MONGO_URI" "$DB" drop
