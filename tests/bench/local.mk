# tests/bench/local.mk - make bench: measured side by side, never in make
# check.  Build without --enable-sanitizers for meaningful numbers.
EXTRA_PROGRAMS += tests/bench/bench_orders
tests_bench_bench_orders_SOURCES = tests/bench/bench_orders.c
tests_bench_bench_orders_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(CJSON_CFLAGS)
tests_bench_bench_orders_LDADD = $(SQLITE_LIBS) $(CJSON_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += tests/bench/bench.lua tests/bench/bench.conf tests/bench/bench_sweep.sh

BENCH_ORDERS = 200000
BENCH_RSS_ORDERS = 1000000

bench: tests/bench/bench_orders$(EXEEXT) ddbsim$(EXEEXT) $(pkglib_LTLIBRARIES)
	@case "$(SAN_CFLAGS)" in *sanitize*) \
		echo "make bench: this build has sanitizers: numbers mean little (configure without --enable-sanitizers)";; esac
	DDBSIM_PLUGIN_DIR='$(TEST_PLUGIN_DIR)' DDBSIM_SCRIPTDIR='$(abs_top_srcdir)/scripts/lua' \
		tests/bench/bench_orders ./ddbsim$(EXEEXT) $(top_srcdir)/tests/bench/bench.lua \
		$(top_srcdir)/tests/bench/bench.conf $(BENCH_ORDERS) $(BENCH_RSS_ORDERS)
.PHONY: bench

# make bench-serve: ddbsim serve against a plain libmicrohttpd server, the
# same load (tests/bench/bench_serve.sh).
EXTRA_PROGRAMS += tests/bench/http_load tests/bench/plain_mhd
tests_bench_http_load_SOURCES = tests/bench/http_load.c
tests_bench_http_load_LDADD = -lpthread
tests_bench_plain_mhd_SOURCES = tests/bench/plain_mhd.c
tests_bench_plain_mhd_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
tests_bench_plain_mhd_LDADD = $(MHD_LIBS)
EXTRA_DIST += tests/bench/bench_serve.sh
BENCH_SERVE_SECONDS = 4

bench-serve: tests/bench/http_load$(EXEEXT) tests/bench/plain_mhd$(EXEEXT) ddbsim$(EXEEXT) \
		$(pkglib_LTLIBRARIES)
	@case "$(SAN_CFLAGS)" in *sanitize*) \
		echo "make bench-serve: this build has sanitizers: numbers mean little (configure without --enable-sanitizers)";; esac
	DDBSIM_PLUGIN_DIR='$(TEST_PLUGIN_DIR)' DDBSIM_SCRIPTDIR='$(abs_top_srcdir)/scripts/lua' \
		$(SHELL) $(top_srcdir)/tests/bench/bench_serve.sh ./ddbsim$(EXEEXT) \
		tests/bench/http_load$(EXEEXT) tests/bench/plain_mhd$(EXEEXT) $(BENCH_SERVE_SECONDS)
.PHONY: bench-serve

# make bench-sweep: the same chaos.lua seeds with --jobs 1 and --jobs 2 (paired
# rounds), and
# the ratio of their runs per second (the target on 2 cores: >= 1.7).
BENCH_SWEEP_RUNS = 400
bench-sweep: ddbsim$(EXEEXT) $(pkglib_LTLIBRARIES)
	@case "$(SAN_CFLAGS)" in *sanitize*) \
		echo "make bench-sweep: this build has sanitizers: numbers mean little (configure without --enable-sanitizers)";; esac
	@DDBSIM_PLUGIN_DIR='$(TEST_PLUGIN_DIR)' DDBSIM_SCRIPTDIR='$(abs_top_srcdir)/scripts/lua' \
		$(SHELL) $(top_srcdir)/tests/bench/bench_sweep.sh ./ddbsim$(EXEEXT) $(BENCH_SWEEP_RUNS)
.PHONY: bench-sweep
