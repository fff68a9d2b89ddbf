# plugins/storage/postgres/local.mk - the PostgreSQL storage plugin, its
# throwaway server for tests (tests/servers/postgres.sh), its tests and its
# benchmark.
if BUILD_POSTGRES
pkglib_LTLIBRARIES += plugins/storage/postgres/postgres.la
plugins_storage_postgres_postgres_la_SOURCES = plugins/storage/postgres/postgres.c
plugins_storage_postgres_postgres_la_CFLAGS = $(AM_CFLAGS) $(POSTGRES_CFLAGS)
plugins_storage_postgres_postgres_la_LIBADD = $(POSTGRES_LIBS)
plugins_storage_postgres_postgres_la_LDFLAGS = $(PLUGIN_LDFLAGS)
endif
