# plugins/storage/postgres/local.mk - the PostgreSQL storage plugin, its
# throwaway server for tests (tests/servers/postgres.sh), its tests and its
# benchmark (make bench-postgres; make bench runs it too).
if BUILD_POSTGRES
pkglib_LTLIBRARIES += plugins/storage/postgres/postgres.la
plugins_storage_postgres_postgres_la_SOURCES = plugins/storage/postgres/postgres.c \
	plugins/storage/postgres/pg_binary.c plugins/storage/postgres/pg_binary.h \
	plugins/storage/postgres/pg_conn.c plugins/storage/postgres/pg_conn.h
plugins_storage_postgres_postgres_la_CPPFLAGS = $(AM_CPPFLAGS) -Iplugins/storage/postgres
plugins_storage_postgres_postgres_la_CFLAGS = $(AM_CFLAGS) $(POSTGRES_CFLAGS)
plugins_storage_postgres_postgres_la_LIBADD = $(POSTGRES_LIBS)
plugins_storage_postgres_postgres_la_LDFLAGS = $(PLUGIN_LDFLAGS)
# pg_conn.c and pg_conn.h include the generated headers.
nodist_plugins_storage_postgres_postgres_la_SOURCES = plugins/storage/postgres/pg_schema.h \
	plugins/storage/postgres/pg_statements.h
BUILT_SOURCES += plugins/storage/postgres/pg_schema.h plugins/storage/postgres/pg_statements.h
endif

# The schema and PL/pgSQL functions, written as SQL in schema.sql, become C
# strings in pg_schema.h, generated in the build tree (sql2c.awk says how).
plugins/storage/postgres/pg_schema.h: $(srcdir)/plugins/storage/postgres/schema.sql \
		$(srcdir)/plugins/storage/postgres/sql2c.awk
	$(AM_V_GEN)$(MKDIR_P) plugins/storage/postgres && \
	$(AWK) -f $(srcdir)/plugins/storage/postgres/sql2c.awk \
		$(srcdir)/plugins/storage/postgres/schema.sql >$@-t && mv $@-t $@
CLEANFILES += plugins/storage/postgres/pg_schema.h plugins/storage/postgres/pg_schema.h-t
EXTRA_DIST += plugins/storage/postgres/schema.sql plugins/storage/postgres/sql2c.awk

# The statements' SQL, in statements.sql, becomes pg_statements.h
# (plugins/storage/local.mk).
plugins/storage/postgres/pg_statements.h: $(srcdir)/plugins/storage/postgres/statements.sql \
		$(STMT2C)
	$(STMT2C_RUN)
CLEANFILES += plugins/storage/postgres/pg_statements.h plugins/storage/postgres/pg_statements.h-t
EXTRA_DIST += plugins/storage/postgres/statements.sql

# Tests: listed whether or not the plugin is built; each starts its own
# server (tests/integration/data/postgres/lib.sh) and skips (exit 77) when
# the plugin or the server programs are missing, failing instead when
# DDBSIM_REQUIRE_BACKENDS=1.  (Straight into TESTS: INTEGRATION_TESTS is set
# after this file.)
POSTGRES_TESTS = \
	tests/integration/postgres_conformance.sh \
	tests/integration/postgres_scenarios.sh \
	tests/integration/postgres_restart.sh \
	tests/integration/postgres_psql.sh
TESTS += $(POSTGRES_TESTS)
EXTRA_DIST += $(POSTGRES_TESTS) tests/servers/postgres.sh etc/postgres.conf \
	tests/integration/data/postgres tests/bench/bench_postgres.sh tests/bench/bench_pg.lua

# Benchmark: ddbsim's orders/s with PostgreSQL regions and center (4
# connections in all: 3 regions and the center; documents on SQLite) beside
# pgbench TPC-B-like -c 4 -j 2, on one throwaway server, in the same run.
# BENCH_PG_SECONDS: each pgbench round; BENCH_PG_ORDERS: each ddbsim run.
BENCH_PG_SECONDS = 15
BENCH_PG_ORDERS = 60000
if BUILD_POSTGRES
bench-postgres: ddbsim$(EXEEXT) $(pkglib_LTLIBRARIES)
	@case "$(SAN_CFLAGS)" in *sanitize*) \
		echo "make bench-postgres: this build has sanitizers: numbers mean little (configure without --enable-sanitizers)";; esac
	DDBSIM='$(abs_top_builddir)/ddbsim$(EXEEXT)' DDBSIM_PLUGIN_DIR='$(TEST_PLUGIN_DIR)' \
		DDBSIM_SCRIPTDIR='$(abs_top_srcdir)/scripts/lua' top_srcdir='$(abs_top_srcdir)' \
		$(SHELL) $(top_srcdir)/tests/bench/bench_postgres.sh $(BENCH_PG_SECONDS) $(BENCH_PG_ORDERS)
else
bench-postgres:
	@echo "make bench-postgres: the postgres plugin is not built: skipped"
endif
bench: bench-postgres
.PHONY: bench-postgres
