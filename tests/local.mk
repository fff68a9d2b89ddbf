# tests/local.mk - make check: unit tests (cmocka) and integration tests
# (shell scripts that run the ddbsim program).  Benchmarks: make bench.

TEST_PLUGIN_DIR = $(abs_top_builddir)/plugins/storage/sqlite/.libs:$(abs_top_builddir)/plugins/storage/postgres/.libs:$(abs_top_builddir)/plugins/storage/mongo/.libs:$(abs_top_builddir)/plugins/transport/memory/.libs:$(abs_top_builddir)/plugins/transport/rabbitmq/.libs
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	DDBSIM='$(abs_top_builddir)/ddbsim'; \
	DDBSIM_PLUGIN_DIR='$(TEST_PLUGIN_DIR)'; \
	DDBSIM_TEST_PLUGINS='$(abs_top_builddir)/tests/plugins/.libs'; \
	DDBSIM_BUGGY_PLUGIN_DIR='$(abs_top_builddir)/tests/plugins/buggy/.libs'; \
	ASAN_OPTIONS="$${ASAN_OPTIONS:-detect_leaks=1}"; \
	UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"; \
	export top_srcdir top_builddir DDBSIM DDBSIM_PLUGIN_DIR DDBSIM_TEST_PLUGINS DDBSIM_BUGGY_PLUGIN_DIR \
	       ASAN_OPTIONS UBSAN_OPTIONS;
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
UNIT_LIBS = $(CMOCKA_LIBS)

# --- unit tests ---------------------------------------------------------
check_PROGRAMS += tests/unit/test_prng_clock
tests_unit_test_prng_clock_SOURCES = tests/unit/test_prng_clock.c src/prng.c src/clock.c
tests_unit_test_prng_clock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_prng_clock_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c src/config_file.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LIBS) $(INIH_LIBS)

check_PROGRAMS += tests/unit/test_loader
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c src/loader.c
tests_unit_test_loader_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_loader_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_storage
tests_unit_test_storage_SOURCES = tests/unit/test_storage.c tests/unit/plugin_fixture.c tests/unit/plugin_fixture.h src/loader.c
tests_unit_test_storage_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_storage_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_sqlite
tests_unit_test_sqlite_SOURCES = tests/unit/test_sqlite.c tests/unit/plugin_fixture.c tests/unit/plugin_fixture.h src/loader.c
tests_unit_test_sqlite_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sqlite_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_transport
tests_unit_test_transport_SOURCES = tests/unit/test_transport.c tests/unit/plugin_fixture.c tests/unit/plugin_fixture.h src/loader.c
tests_unit_test_transport_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_memory
tests_unit_test_memory_SOURCES = tests/unit/test_memory.c tests/unit/plugin_fixture.c tests/unit/plugin_fixture.h src/loader.c
tests_unit_test_memory_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_memory_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_scenario
tests_unit_test_scenario_SOURCES = tests/unit/test_scenario.c src/scenario.c \
	src/scenario_limits.c src/scenario_sandbox.c src/scenario_parse.c src/scenario_fields.c \
	src/scenario_actions.c src/scenario_customers.c \
	src/scenario_int.h src/script_watchdog.c src/prng.c src/utf8.c
tests_unit_test_scenario_CFLAGS = $(UNIT_CFLAGS) $(LUA_CFLAGS) $(CJSON_CFLAGS)
tests_unit_test_scenario_LDADD = $(UNIT_LIBS) $(LUA_LIBS) $(CJSON_LIBS)

check_PROGRAMS += tests/unit/test_domain
tests_unit_test_domain_SOURCES = tests/unit/test_domain.c
tests_unit_test_domain_CFLAGS = $(UNIT_CFLAGS) $(CJSON_CFLAGS)
tests_unit_test_domain_LDADD = src/libddbsim.la $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_engine
tests_unit_test_engine_SOURCES = tests/unit/test_engine.c tests/unit/plugin_fixture.c tests/unit/plugin_fixture.h
tests_unit_test_engine_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_engine_LDADD = src/libddbsim.la $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_report_html
tests_unit_test_report_html_SOURCES = tests/unit/test_report_html.c
tests_unit_test_report_html_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_report_html_LDADD = src/libddbsim.la $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_shrink_script
tests_unit_test_shrink_script_SOURCES = tests/unit/test_shrink_script.c
tests_unit_test_shrink_script_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_shrink_script_LDADD = src/libddbsim.la $(UNIT_LIBS)

TESTS += $(check_PROGRAMS)

# --- test plugins: built from the public header alone --------------------
TEST_PLUGIN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES += tests/plugins/good.la tests/plugins/badabi.la \
	tests/plugins/nosym.la tests/plugins/wrongkind.la tests/plugins/noops.la
tests_plugins_good_la_SOURCES = tests/plugins/good.c
tests_plugins_good_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_good_la_CPPFLAGS = -I$(top_srcdir)/src
tests_plugins_badabi_la_SOURCES = tests/plugins/badabi.c
tests_plugins_badabi_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_badabi_la_CPPFLAGS = -I$(top_srcdir)/src
tests_plugins_nosym_la_SOURCES = tests/plugins/nosym.c
tests_plugins_nosym_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_nosym_la_CPPFLAGS = -I$(top_srcdir)/src
tests_plugins_wrongkind_la_SOURCES = tests/plugins/wrongkind.c
tests_plugins_wrongkind_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_wrongkind_la_CPPFLAGS = -I$(top_srcdir)/src
tests_plugins_noops_la_SOURCES = tests/plugins/noops.c
tests_plugins_noops_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_noops_la_CPPFLAGS = -I$(top_srcdir)/src
# buggy: the SQLite plugin of the build tree with two typical bugs, for
# sweep_shrink.sh (and plugin authors: README, "Testing a plugin under faults").
if BUILD_SQLITE
# In a directory of its own: test_loader's scan of tests/plugins expects
# only its fixtures there.
check_LTLIBRARIES += tests/plugins/buggy/buggy.la
tests_plugins_buggy_buggy_la_SOURCES = tests/plugins/buggy/buggy.c
tests_plugins_buggy_buggy_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_buggy_buggy_la_CPPFLAGS = -I$(top_srcdir)/src \
	-DBUGGY_INNER_PLUGIN='"$(abs_top_builddir)/plugins/storage/sqlite/.libs/sqlite.so"'
endif

# --- integration tests --------------------------------------------------
include tests/integration/local.mk
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/integration/serve_lib.sh \
	tests/integration/data tests/browser/browser.py tests/browser/report_html_test.py
# The browser tests' screenshots and console logs.
clean-local: clean-browser-logs
clean-browser-logs:
	-rm -rf tests/integration/report_html.d
.PHONY: clean-browser-logs

# --- fuzzing: make fuzz, and the seed corpora as tests ---------------------
include tests/fuzz/local.mk

# --- benchmarks (not tests) -----------------------------------------------
include tests/bench/local.mk
