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
	src/scenario_parse.c src/scenario_fields.c src/scenario_actions.c \
	src/scenario_customers.c \
	src/script_watchdog.c src/script_watchdog.h \
	src/node.c src/node.h \
	src/faults.c src/faults.h \
	src/fault_steps.c src/fault_steps.h \
	src/world.c src/world.h \
	src/catalog.c src/catalog.h \
	src/orders.c src/orders.h \
	src/customers.c src/customers.h \
	src/id_map.c src/id_map.h \
	src/queued_writes.c src/queued_writes.h \
	src/wire.c src/wire.h \
	src/sync.c src/sync.h \
	src/histogram.c src/histogram.h \
	src/metrics.c src/metrics.h \
	src/checks.c src/checks.h \
	src/state_hash.c src/state_hash.h \
	src/report.c src/report.h \
	src/report_html.c src/report_html.h \
	src/utf8.c src/utf8.h src/file_read.c src/file_read.h \
	src/engine.c src/engine.h src/engine_int.h src/engine_actions.c \
	src/live.c src/live.h src/recorder.c src/recorder.h src/lua_text.c src/lua_text.h \
	src/http_server.c src/http_server.h \
	src/api.c src/api.h src/api_orders.c src/api_nodes.c src/api_products.c \
	src/api_customers.c src/api_compat.c src/api_faults.c \
	src/api_events.c src/api_metrics.c \
	src/api_static.c \
	src/serve.c src/serve.h \
	src/run_pool.c src/run_pool.h \
	src/sweep.c src/sweep.h \
	src/shrink.c src/shrink.h \
	src/shrink_script.c src/shrink_script.h
# report_html.c includes www/report/www_report.h, generated (www/local.mk).
nodist_src_libddbsim_la_SOURCES = www/report/www_report.h
src_libddbsim_la_CPPFLAGS = $(AM_CPPFLAGS) -Iwww/report
src_libddbsim_la_CFLAGS = $(AM_CFLAGS) $(LUA_CFLAGS) $(INIH_CFLAGS) $(CJSON_CFLAGS) $(MHD_CFLAGS)
src_libddbsim_la_LIBADD = $(LUA_LIBS) $(INIH_LIBS) $(CJSON_LIBS) $(MHD_LIBS)

bin_PROGRAMS += ddbsim
ddbsim_SOURCES = src/main.c
ddbsim_CFLAGS = $(AM_CFLAGS)
ddbsim_LDADD = src/libddbsim.la
