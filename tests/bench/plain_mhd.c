/*
 * plain_mhd.c - the ceiling of the HTTP layer for `make bench-serve`: a
 * minimal libmicrohttpd server that reads a request's body and answers a
 * fixed JSON body shaped like ddbsim's answer to an order.  It runs MHD
 * with its own polling thread over epoll (MHD_USE_INTERNAL_POLLING_THREAD
 * | MHD_USE_EPOLL), one thread as ddbsim serve has, but without ddbsim's
 * loop around it.  Prints "listening on http://127.0.0.1:PORT/" and runs
 * until SIGINT or SIGTERM.
 *
 *   plain_mhd [PORT]
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char answer[] =
	"{\"id\":\"b-0-0\",\"status\":\"accepted\",\"region\":\"east\",\"sku\":\"MOUSE\","
	"\"quantity\":1,\"unit_price_cents\":1999,\"placed_at_s\":1.5}";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	static int started;
	if (*con_cls == NULL) { /* the headers: the request starts */
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_data_size) { /* the body, read and dropped */
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof answer - 1, (void *)answer,
	                                                         MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

int main(int argc, char **argv)
{
	unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
	struct sockaddr_in sa = { 0 };
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct sigaction act = { 0 };
	act.sa_handler = on_signal;
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "plain_mhd: cannot listen\n");
		return 2;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on http://127.0.0.1:%u/\n", info ? info->port : 0);
	fflush(stdout);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	return 0;
}
