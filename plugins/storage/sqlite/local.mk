# plugins/storage/sqlite/local.mk - the SQLite storage plugin.
if BUILD_SQLITE
pkglib_LTLIBRARIES += plugins/storage/sqlite/sqlite.la
plugins_storage_sqlite_sqlite_la_SOURCES = plugins/storage/sqlite/sqlite.c \
	plugins/storage/sqlite/sqlite_schema.c plugins/storage/sqlite/sqlite_stmt.c \
	plugins/storage/sqlite/sqlite_int.h
plugins_storage_sqlite_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
plugins_storage_sqlite_sqlite_la_LIBADD = $(SQLITE_LIBS)
plugins_storage_sqlite_sqlite_la_LDFLAGS = $(PLUGIN_LDFLAGS)
endif
