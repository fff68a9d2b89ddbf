# plugins/storage/mongo/local.mk - the MongoDB storage plugin, its
# throwaway server for the tests (tests/servers/mongo.sh: the stand-in, since
# no mongod can be installed here), its tests and its benchmark.  See
# doc/mongo.md.
if BUILD_MONGO
pkglib_LTLIBRARIES += plugins/storage/mongo/mongo.la
plugins_storage_mongo_mongo_la_SOURCES = plugins/storage/mongo/mongo.c \
	plugins/storage/mongo/mongo_bson.c plugins/storage/mongo/mongo_intent.c \
	plugins/storage/mongo/mongo_int.h
plugins_storage_mongo_mongo_la_CFLAGS = $(AM_CFLAGS) $(MONGO_CFLAGS)
plugins_storage_mongo_mongo_la_LIBADD = $(MONGO_LIBS)
plugins_storage_mongo_mongo_la_LDFLAGS = $(PLUGIN_LDFLAGS)
mongoconfdir = $(sysconfdir)/ddbsim
mongoconf_DATA = etc/mongo.conf
endif

# Tests: listed whether or not the plugin is built; each skips (exit 77) when
# the plugin is not built or the stand-in cannot run (python3-pymongo,
# python3-mongomock), and fails instead when DDBSIM_REQUIRE_BACKENDS=1.
# DDBSIM_TEST_MONGO_URI runs them against that server instead of the
# stand-in.  (Straight into TESTS: INTEGRATION_TESTS is set after this file.)
MONGO_TESTS = \
	tests/integration/mongo_standin.sh \
	tests/integration/mongo_conformance.sh \
	tests/integration/mongo_scenarios.sh \
	tests/integration/mongo_restart.sh \
	tests/integration/mongo_crash.sh
TESTS += $(MONGO_TESTS)
EXTRA_DIST += $(MONGO_TESTS) tests/servers/mongo.sh tests/servers/mongo_standin.py \
	tests/integration/data/mongo doc/mongo.md etc/mongo.conf

# Benchmark: make bench-mongo (make bench runs it too) starts the stand-in
# (or uses DDBSIM_TEST_MONGO_URI) and runs tests/bench/bench_mongo: order-log
# documents/s through ddbsim beside a plain mongo-c-driver insert loop of the
# same documents.  The program is built only for the benchmark (a rule of
# its own: EXTRA_PROGRAMS is set after this file).
BENCH_MONGO_ORDERS = 20000
EXTRA_DIST += tests/bench/bench_mongo.c
CLEANFILES += tests/bench/bench_mongo$(EXEEXT) tests/bench/bench_mongo.$(OBJEXT)
MONGO_SERVER = $(SHELL) $(top_srcdir)/tests/servers/mongo.sh
if BUILD_MONGO
tests/bench/bench_mongo$(EXEEXT): $(top_srcdir)/tests/bench/bench_mongo.c
	$(AM_V_CC)$(MKDIR_P) tests/bench && $(CC) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) \
		$(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) $(MONGO_CFLAGS) $(CJSON_CFLAGS) \
		-c -o tests/bench/bench_mongo.$(OBJEXT) $(top_srcdir)/tests/bench/bench_mongo.c
	$(AM_V_CCLD)$(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) $(LIBTOOLFLAGS) --mode=link \
		$(CCLD) $(AM_CFLAGS) $(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS) -o $@ \
		tests/bench/bench_mongo.$(OBJEXT) $(MONGO_LIBS) $(CJSON_LIBS)

bench-mongo: tests/bench/bench_mongo$(EXEEXT) ddbsim$(EXEEXT) $(pkglib_LTLIBRARIES)
	@case "$(SAN_CFLAGS)" in *sanitize*) \
		echo "make bench-mongo: this build has sanitizers: numbers mean little (configure without --enable-sanitizers)";; esac
	@if [ -z "$${DDBSIM_TEST_MONGO_URI:-}" ] && ! $(MONGO_SERVER) available; then \
		echo "make bench-mongo: the MongoDB stand-in cannot run (python3-pymongo, python3-mongomock): skipped"; \
		exit 0; fi; \
	dir=$$(mktemp -d "$${TMPDIR:-/tmp}/ddbsim-bench-mongo.XXXXXX") || exit 1; \
	trap "$(MONGO_SERVER) stop '$$dir/server'; rm -rf '$$dir'" EXIT; \
	if [ -n "$${DDBSIM_TEST_MONGO_URI:-}" ]; then MONGO_URI=$$DDBSIM_TEST_MONGO_URI; \
	else env=$$($(MONGO_SERVER) start "$$dir/server") || exit 1; eval "$$env"; fi; \
	DDBSIM_PLUGIN_DIR='$(TEST_PLUGIN_DIR)' DDBSIM_SCRIPTDIR='$(abs_top_srcdir)/scripts/lua' \
		tests/bench/bench_mongo ./ddbsim$(EXEEXT) $(top_srcdir)/tests/bench/bench.lua \
		"$$MONGO_URI" $(BENCH_MONGO_ORDERS)
else
bench-mongo:
	@echo "make bench-mongo: the mongo plugin is not built: skipped"
endif
bench: bench-mongo
.PHONY: bench-mongo
