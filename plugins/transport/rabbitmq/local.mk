# plugins/transport/rabbitmq/local.mk - the RabbitMQ transport plugin, its
# throwaway broker for tests (tests/servers/rabbitmq.sh), its tests and its
# benchmark.
if BUILD_RABBITMQ
pkglib_LTLIBRARIES += plugins/transport/rabbitmq/rabbitmq.la
plugins_transport_rabbitmq_rabbitmq_la_SOURCES = plugins/transport/rabbitmq/rabbitmq.c \
	plugins/transport/rabbitmq/rmq_conn.c plugins/transport/rabbitmq/rmq_buffer.c \
	plugins/transport/rabbitmq/rabbitmq_int.h
plugins_transport_rabbitmq_rabbitmq_la_CFLAGS = $(AM_CFLAGS) $(RABBITMQ_CFLAGS)
plugins_transport_rabbitmq_rabbitmq_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_transport_rabbitmq_rabbitmq_la_LIBADD = $(RABBITMQ_LIBS)
endif

# Tests: listed whether or not the plugin is built; each skips (exit 77) when
# the plugin or rabbitmq-server is missing, and fails instead when
# DDBSIM_REQUIRE_BACKENDS=1.  (Added to TESTS directly: INTEGRATION_TESTS is
# set with = in tests/local.mk, after this file.)
RABBITMQ_TESTS = \
	tests/integration/rabbitmq_conformance.sh \
	tests/integration/rabbitmq_scenarios.sh \
	tests/integration/rabbitmq_restart.sh \
	tests/integration/rabbitmq_kill_drain.sh \
	tests/integration/rabbitmq_node_queue.sh
TESTS += $(RABBITMQ_TESTS)
EXTRA_DIST += $(RABBITMQ_TESTS) tests/servers/rabbitmq.sh tests/integration/data/rabbitmq

# Benchmark: make bench-rabbitmq (make bench runs it too) starts a throwaway
# broker and runs tests/bench/bench_rabbitmq: ddbsim's sync through RabbitMQ
# beside plain rabbitmq-c loops moving the same messages.  The program is built only for the
# benchmark (a rule of its own: EXTRA_PROGRAMS is set after this file).
BENCH_RABBITMQ_ORDERS = 50000
EXTRA_DIST += tests/bench/bench_rabbitmq.c tests/bench/bench_rabbitmq.conf
CLEANFILES += tests/bench/bench_rabbitmq$(EXEEXT) tests/bench/bench_rabbitmq.$(OBJEXT)
RABBITMQ_SERVER = $(SHELL) $(top_srcdir)/tests/servers/rabbitmq.sh
if BUILD_RABBITMQ
tests/bench/bench_rabbitmq$(EXEEXT): $(top_srcdir)/tests/bench/bench_rabbitmq.c src/libddbsim.la
	$(AM_V_CC)$(MKDIR_P) tests/bench && $(CC) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) \
		$(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) $(RABBITMQ_CFLAGS) $(CJSON_CFLAGS) \
		-c -o tests/bench/bench_rabbitmq.$(OBJEXT) $(top_srcdir)/tests/bench/bench_rabbitmq.c
	$(AM_V_CCLD)$(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) $(LIBTOOLFLAGS) --mode=link \
		$(CCLD) $(AM_CFLAGS) $(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS) -o $@ \
		tests/bench/bench_rabbitmq.$(OBJEXT) src/libddbsim.la $(RABBITMQ_LIBS) $(CJSON_LIBS)

bench-rabbitmq: tests/bench/bench_rabbitmq$(EXEEXT) ddbsim$(EXEEXT) $(pkglib_LTLIBRARIES)
	@case "$(SAN_CFLAGS)" in *sanitize*) \
		echo "make bench-rabbitmq: this build has sanitizers: numbers mean little (configure without --enable-sanitizers)";; esac
	@if ! $(RABBITMQ_SERVER) available; then \
		echo "make bench-rabbitmq: rabbitmq-server is not installed: skipped"; exit 0; fi; \
	dir=$$(mktemp -d "$${TMPDIR:-/tmp}/ddbsim-bench-broker.XXXXXX") && chmod 0755 "$$dir" || exit 1; \
	trap "$(RABBITMQ_SERVER) stop '$$dir/node'; rm -rf '$$dir'" EXIT; \
	env=$$($(RABBITMQ_SERVER) start "$$dir/node") || exit 1; \
	eval "$$env"; export AMQP_URL; \
	DDBSIM_PLUGIN_DIR='$(TEST_PLUGIN_DIR)' DDBSIM_SCRIPTDIR='$(abs_top_srcdir)/scripts/lua' \
		tests/bench/bench_rabbitmq ./ddbsim$(EXEEXT) $(top_srcdir)/tests/bench/bench.lua \
		$(top_srcdir)/tests/bench/bench_rabbitmq.conf $(BENCH_RABBITMQ_ORDERS)
else
bench-rabbitmq:
	@echo "make bench-rabbitmq: the rabbitmq plugin is not built: skipped"
endif
bench: bench-rabbitmq
.PHONY: bench-rabbitmq
