# plugins/storage/sqlite/local.mk - the SQLite storage plugin.
if BUILD_SQLITE
pkglib_LTLIBRARIES += plugins/storage/sqlite/sqlite.la
plugins_storage_sqlite_sqlite_la_SOURCES = plugins/storage/sqlite/sqlite.c \
	plugins/storage/sqlite/sqlite_schema.c plugins/storage/sqlite/sqlite_stmt.c \
	plugins/storage/sqlite/sqlite_checkpoint.c plugins/storage/sqlite/sqlite_int.h
plugins_storage_sqlite_sqlite_la_CPPFLAGS = $(AM_CPPFLAGS) -Iplugins/storage/sqlite
plugins_storage_sqlite_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
plugins_storage_sqlite_sqlite_la_LIBADD = $(SQLITE_LIBS)
plugins_storage_sqlite_sqlite_la_LDFLAGS = $(PLUGIN_LDFLAGS)
# sqlite_int.h includes the generated header.
nodist_plugins_storage_sqlite_sqlite_la_SOURCES = plugins/storage/sqlite/sqlite_statements.h
BUILT_SOURCES += plugins/storage/sqlite/sqlite_statements.h
endif

# The statements' SQL, in statements.sql, becomes sqlite_statements.h
# (plugins/storage/local.mk).
plugins/storage/sqlite/sqlite_statements.h: $(srcdir)/plugins/storage/sqlite/statements.sql \
		$(STMT2C)
	$(STMT2C_RUN)
CLEANFILES += plugins/storage/sqlite/sqlite_statements.h \
	plugins/storage/sqlite/sqlite_statements.h-t
EXTRA_DIST += plugins/storage/sqlite/statements.sql
