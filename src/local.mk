# src/local.mk - the emulator: a library (linked by the program and the
# tests) and main.c.
noinst_LTLIBRARIES += src/libddbsim.la
src_libddbsim_la_SOURCES = \
	src/ddbsim/plugin.h \
	src/util.h \
	src/cli.c src/cli.h \
	src/config_file.c src/config_file.h \
	src/datadir_lock.c src/datadir_lock.h \
	src/loader.c src/loader.h \
	src/prng.c src/prng.h \
	src/clock.c src/clock.h \
	src/scenario.c src/scenario.h src/scenario_int.h \
	src/scenario_limits.c src/scenario_sandbox.c \
	src/scenario_parse.c src/scenario_customers.c \
	src/script_watchdog.c src/script_watchdog.h \
	src/node.c src/node.h \
	src/faults.c src/faults.h \
	src/fault_steps.c src/fault_steps.h \
	src/world.c src/world.h \
	src/catalog.c src/catalog.h \
	src/orders.c src/orders.h \
	src/customers.c src/customers.h \
	src/queued_writes.c src/queued_writes.h \
	src/wire.c src/wire.h \
	src/sync.c src/sync.h \
	src/histogram.c src/histogram.h \
	src/metrics.c src/metrics.h \
	src/checks.c src/checks.h \
	src/state_hash.c src/state_hash.h \
	src/report.c src/report.h \
	src/utf8.c src/utf8.h \
	src/engine.c src/engine.h \
	src/run_pool.c src/run_pool.h \
	src/sweep.c src/sweep.h \
	src/shrink.c src/shrink.h \
	src/shrink_script.c src/shrink_script.h
src_libddbsim_la_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS) $(INIH_CFLAGS) $(CJSON_CFLAGS)
src_libddbsim_la_LIBADD = $(LUA_LIBS) $(INIH_LIBS) $(CJSON_LIBS)

bin_PROGRAMS += ddbsim
ddbsim_SOURCES = src/main.c
ddbsim_CFLAGS = $(AM_CFLAGS)
ddbsim_LDADD = src/libddbsim.la
