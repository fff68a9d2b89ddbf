# plugins/storage/mongo/local.mk - the MongoDB storage plugin, its
# throwaway server for the tests (the stand-in: no mongod installs here) and
# its tests and benchmark.  See doc/mongo.md.
#
# The tests go straight into TESTS (INTEGRATION_TESTS is set with '=' in
# tests/local.mk, which is included after this file).
EXTRA_DIST += tests/servers/mongo.sh tests/servers/mongo_standin.py \
	tests/integration/data/mongo doc/mongo.md etc/mongo.conf \
	tests/bench/bench_mongo.c tests/bench/bench_mongo.lua $(MONGO_TESTS)

# The stand-in's own test needs no plugin.
MONGO_TESTS = tests/integration/mongo_standin.sh

if BUILD_MONGO
pkglib_LTLIBRARIES += plugins/storage/mongo/mongo.la
plugins_storage_mongo_mongo_la_SOURCES = plugins/storage/mongo/mongo.c
plugins_storage_mongo_mongo_la_CFLAGS = $(AM_CFLAGS) $(MONGO_CFLAGS)
plugins_storage_mongo_mongo_la_LIBADD = $(MONGO_LIBS)
plugins_storage_mongo_mongo_la_LDFLAGS = $(PLUGIN_LDFLAGS)

MONGO_TESTS += \
	tests/integration/mongo_conformance.sh \
	tests/integration/mongo_scenarios.sh \
	tests/integration/mongo_restart.sh
endif
TESTS += $(MONGO_TESTS)
