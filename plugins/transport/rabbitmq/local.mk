# plugins/transport/rabbitmq/local.mk - the RabbitMQ transport plugin, its
# throwaway broker for tests (tests/servers/rabbitmq.sh), its tests and its
# benchmark.
if BUILD_RABBITMQ
pkglib_LTLIBRARIES += plugins/transport/rabbitmq/rabbitmq.la
plugins_transport_rabbitmq_rabbitmq_la_SOURCES = plugins/transport/rabbitmq/rabbitmq.c
plugins_transport_rabbitmq_rabbitmq_la_CFLAGS = $(AM_CFLAGS) $(RABBITMQ_CFLAGS)
plugins_transport_rabbitmq_rabbitmq_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_transport_rabbitmq_rabbitmq_la_LIBADD = $(RABBITMQ_LIBS)
endif
