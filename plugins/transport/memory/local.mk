# plugins/transport/memory/local.mk - the in-memory transport plugin.
if BUILD_MEMORY
pkglib_LTLIBRARIES += plugins/transport/memory/memory.la
plugins_transport_memory_memory_la_SOURCES = plugins/transport/memory/memory.c
plugins_transport_memory_memory_la_LDFLAGS = $(PLUGIN_LDFLAGS)
endif
