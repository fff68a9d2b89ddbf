# core/local.mk - the emulator: a library (linked by the program and the
# tests) and main.c.
noinst_LTLIBRARIES += core/libddbsim.la
core_libddbsim_la_SOURCES = \
	core/ddbsim/plugin.h \
	core/util.h \
	core/cli.c core/cli.h \
	core/config.c core/config.h \
	core/loader.c core/loader.h \
	core/prng.c core/prng.h \
	core/clock.c core/clock.h \
	core/scenario.c core/scenario.h \
	core/node.c core/node.h \
	core/faults.c core/faults.h \
	core/topology.c core/topology.h \
	core/catalog.c core/catalog.h \
	core/orders.c core/orders.h \
	core/wire.c core/wire.h \
	core/sync.c core/sync.h \
	core/histogram.c core/histogram.h \
	core/metrics.c core/metrics.h \
	core/checks.c core/checks.h \
	core/state_hash.c core/state_hash.h \
	core/report.c core/report.h \
	core/engine.c core/engine.h
core_libddbsim_la_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS) $(INIH_CFLAGS) $(CJSON_CFLAGS)
core_libddbsim_la_LIBADD = $(LUA_LIBS) $(INIH_LIBS) $(CJSON_LIBS)

bin_PROGRAMS += ddbsim
ddbsim_SOURCES = core/main.c
ddbsim_CFLAGS = $(AM_CFLAGS)
ddbsim_LDADD = core/libddbsim.la
