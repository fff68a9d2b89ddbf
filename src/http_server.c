/*
 * http_server.c - libmicrohttpd in external-polling mode (see
 * http_server.h): MHD owns the sockets and the HTTP parsing, the engine's
 * loop calls http_server_run between two events, and every callback below
 * runs inside that call, on the engine's thread.  Nothing here touches the
 * domain: requests go to the handler (api.c), replies come back.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

/* What of a too large chunked body is read (and dropped) before the
 * connection is closed instead of answered 413. */
#define HTTP_DROP_MAX (1024 * 1024)

struct http_server {
	struct MHD_Daemon *d;
	http_handler_fn handler;
	void *ctx;
	int (*public_request)(const char *method, const char *path);
	char token[HTTP_TOKEN_MAX];
	int has_token;
	char url[128];
	struct http_request *all; /* every request in progress: stop, http_streams_reap */
	int stopping;             /* http_server_stop: no request reaches the handler */
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_request *prev, *next;
	const char *method, *path;
	char *body;
	size_t body_len;
	int queued;    /* the reply is with MHD */
	int too_large; /* a chunked body past HTTP_BODY_MAX */
	size_t dropped;
	int handled;   /* the handler has seen it */
	int suspended; /* waiting for a reply (HTTP_LATER) or for a stream's data */
	int replied;
	int status;
	char *reply;
	size_t reply_len;
	const char *content_type;
	char *headers; /* "Name\0Value\0...", added to the reply */
	size_t headers_len;
	struct http_stream stream;
	int streaming, stream_ended;
};

/* ---- the request ------------------------------------------------------------ */

const char *http_method(const struct http_request *r)
{
	return r->method;
}

const char *http_path(const struct http_request *r)
{
	return r->path;
}

const char *http_query(const struct http_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct unknown_arg {
	const char *const *known;
	const char *found;
};

static enum MHD_Result find_unknown(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
	(void)kind;
	(void)value;
	struct unknown_arg *u = cls;
	for (const char *const *k = u->known; *k; k++)
		if (strcmp(*k, key) == 0)
			return MHD_YES;
	u->found = key;
	return MHD_NO;
}

int http_query_unknown(const struct http_request *r, const char *const *known, const char **unknown)
{
	struct unknown_arg u = { known, NULL };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, find_unknown, &u);
	*unknown = u.found;
	return u.found != NULL;
}

const char *http_header(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const struct http_request *r, size_t *len)
{
	*len = r->body_len;
	return r->body ? r->body : "";
}

/* ---- replies ----------------------------------------------------------------- */

static void wake(struct http_request *r)
{
	if (r->suspended) {
		r->suspended = 0;
		MHD_resume_connection(r->conn);
	}
}

void http_reply(struct http_request *r, int status, const char *content_type, const char *body,
                size_t len)
{
	if (r->replied)
		return;
	r->reply = malloc(len ? len : 1);
	if (r->reply) {
		memcpy(r->reply, body, len);
		r->reply_len = len;
		r->status = status;
	} else {
		r->status = 503;
		r->reply_len = 0;
	}
	r->content_type = content_type;
	r->replied = 1;
	wake(r);
}

void http_reply_header(struct http_request *r, const char *name, const char *value)
{
	size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
	char *grown = realloc(r->headers, r->headers_len + nl + vl);
	if (!grown)
		return;
	memcpy(grown + r->headers_len, name, nl);
	memcpy(grown + r->headers_len + nl, value, vl);
	r->headers = grown;
	r->headers_len += nl + vl;
}

void http_reply_stream(struct http_request *r, const char *content_type,
                       const struct http_stream *stream)
{
	r->stream = *stream;
	r->streaming = 1;
	r->content_type = content_type;
	r->status = 200;
	r->replied = 1;
	wake(r);
}

void http_stream_wake(struct http_request *r)
{
	wake(r);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct http_request *r = cls;
	if (r->stream_ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	long n = r->stream.produce(r->stream.ctx, buf, max);
	if (n < 0) { /* the producer gave up on this client: drop the connection */
		r->stream_ended = 1;
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (n == 0 && !r->suspended) { /* nothing now: wait for http_stream_wake */
		r->suspended = 1;
		MHD_suspend_connection(r->conn);
	}
	return n;
}

static void end_stream(struct http_request *r)
{
	if (r->streaming && !r->stream_ended) {
		r->stream_ended = 1;
		if (r->stream.done)
			r->stream.done(r->stream.ctx);
	} else if (r->streaming && r->stream.done) {
		r->stream.done(r->stream.ctx);
	}
	r->stream.done = NULL;
}

/* Whether the client of r has closed or reset its connection: a stream's
 * client sends nothing after its request, so a readable end of file (or an
 * error) is all there is to see. */
static int client_gone(struct http_request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return 0;
	char c;
	ssize_t got = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

size_t http_streams_reap(struct http_request *any)
{
	size_t n = 0;
	for (struct http_request *r = any->srv->all; r; r = r->next)
		if (r->streaming && !r->stream_ended && r->suspended && client_gone(r)) {
			end_stream(r); /* done now; MHD closes it once resumed */
			wake(r);
			n++;
		}
	return n;
}

static enum MHD_Result send_reply(struct http_request *r)
{
	struct MHD_Response *resp;
	if (r->streaming)
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream, r, NULL);
	else
		resp = MHD_create_response_from_buffer(r->reply_len, r->reply, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (size_t i = 0; i < r->headers_len;) {
		const char *name = r->headers + i, *value = name + strlen(name) + 1;
		MHD_add_response_header(resp, name, value);
		i += strlen(name) + 1 + strlen(value) + 1;
	}
	enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	r->queued = ok == MHD_YES;
	MHD_destroy_response(resp);
	return ok;
}

static void reply_error(struct http_request *r, int status, const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
	http_reply(r, status, "application/json", body, (size_t)n);
}

/* ---- the token --------------------------------------------------------------- */

/* Compares in time that depends on the lengths only, not on where they
 * differ. */
static int same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static int authorized(const struct http_request *r)
{
	const struct http_server *s = r->srv;
	if (!s->has_token)
		return 1;
	if (strcmp(r->method, "GET") == 0 && strcmp(r->path, "/metrics") == 0)
		return 1;
	if (s->public_request && s->public_request(r->method, r->path))
		return 1;
	const char *h = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	return same_secret(h + 7, strlen(h + 7), s->token, strlen(s->token));
}

/* ---- the callbacks ------------------------------------------------------------ */

/* A Content-Length above HTTP_BODY_MAX (or one that is not a number). */
static int declared_too_large(const struct http_request *r)
{
	const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return 0;
	size_t digits = strspn(cl, "0123456789");
	return digits == 0 || cl[digits] || digits > 9 || strtol(cl, NULL, 10) > HTTP_BODY_MAX;
}

/* Answers an error at once, the handler never seeing the request. */
static enum MHD_Result refuse(struct http_request *r, int status, const char *msg)
{
	r->handled = 1;
	reply_error(r, status, msg);
	if (status == 401)
		http_reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (r->srv->stopping)
		http_reply_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	return send_reply(r);
}

static void unlink_request(struct http_request *r)
{
	struct http_server *s = r->srv;
	if (r->prev)
		r->prev->next = r->next;
	else if (s->all == r)
		s->all = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	(void)version;
	struct http_server *s = cls;
	struct http_request *r = *con_cls;
	if (!r) { /* the headers are in: the request starts */
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->srv = s;
		r->conn = conn;
		r->method = method;
		r->path = url;
		r->next = s->all;
		if (s->all)
			s->all->prev = r;
		s->all = r;
		*con_cls = r;
		/* Refused before its body is read (MHD then closes the
		 * connection instead of reading the rest). */
		if (s->stopping)
			return refuse(r, 503, "the server is shutting down");
		if (declared_too_large(r))
			return refuse(r, 413, "the body is larger than 64 KiB");
		if (!authorized(r))
			return refuse(r, 401, "an Authorization: Bearer token is required");
		return MHD_YES;
	}
	if (*upload_data_size) { /* a piece of the body */
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->handled) /* refused: the rest is not read */
			return MHD_YES;
		/* A chunked body (no Content-Length) found too large: MHD can
		 * answer only once it is all in, so the rest is read and dropped,
		 * up to a bound past which the connection is closed. */
		if (r->too_large || r->body_len + n > HTTP_BODY_MAX) {
			r->too_large = 1;
			r->dropped += n;
			return r->dropped > HTTP_DROP_MAX ? MHD_NO : MHD_YES;
		}
		char *grown = realloc(r->body, r->body_len + n + 1);
		if (!grown)
			return MHD_NO;
		memcpy(grown + r->body_len, upload_data, n);
		r->body = grown;
		r->body_len += n;
		r->body[r->body_len] = 0;
		return MHD_YES;
	}
	if (!r->handled) { /* the whole request is in */
		if (r->too_large)
			return refuse(r, 413, "the body is larger than 64 KiB");
		if (s->stopping)
			return refuse(r, 503, "the server is shutting down");
		r->handled = 1;
		if (s->handler(s->ctx, r) == HTTP_LATER && !r->replied) {
			r->suspended = 1;
			MHD_suspend_connection(conn);
			return MHD_YES;
		}
	}
	if (r->queued)
		return MHD_YES;
	if (!r->replied) { /* woken with no reply yet: wait again */
		r->suspended = 1;
		MHD_suspend_connection(conn);
		return MHD_YES;
	}
	return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct http_request *r = *con_cls;
	if (!r)
		return;
	end_stream(r);
	unlink_request(r);
	free(r->body);
	free(r->reply);
	free(r->headers);
	free(r);
	*con_cls = NULL;
}

/* ---- paths and query values ---------------------------------------------------- */

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes %XX in place, as libmicrohttpd's own unescaper does, except %00:
 * a NUL would end the C string early, so that "/app.js%00x" would read as
 * "/app.js" and "o1%00x" as "o1".  It stays "%00", which matches nothing. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	char *out = s;
	for (const char *in = s; *in;) {
		int hi = in[0] == '%' ? hex_value(in[1]) : -1;
		int lo = hi >= 0 ? hex_value(in[2]) : -1;
		if (lo >= 0 && (hi | lo) != 0) {
			*out++ = (char)(hi * 16 + lo);
			in += 3;
		} else {
			*out++ = *in++;
		}
	}
	*out = 0;
	return (size_t)(out - s);
}

/* ---- the server ---------------------------------------------------------------- */

/* MHD's own messages, marked as such; not its bind failure, which names
 * port 0 for an address given whole: http_server_start says it instead. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (strncmp(fmt, "Failed to bind to port", 22) == 0)
		return;
	fputs("ddbsim: libmicrohttpd: ", stderr);
	vfprintf(stderr, fmt, ap);
}

static int loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a);
	}
	return 0;
}

/* "HOST:PORT" or "[HOST]:PORT", numeric only. */
static int parse_listen(const char *listen, struct sockaddr_storage *out, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || !colon[1] || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return errorf(err, errlen, "--listen %s: expected ADDRESS:PORT (e.g. 127.0.0.1:8080)",
		              listen);
	size_t hl = (size_t)(colon - listen);
	const char *h = listen;
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return errorf(err, errlen, "--listen %s: address too long", listen);
	memcpy(host, h, hl);
	host[hl] = 0;
	long port = strtol(colon + 1, NULL, 10);
	if (port > 65535)
		return errorf(err, errlen, "--listen %s: port above 65535", listen);
	struct addrinfo hints = { 0 }, *ai = NULL;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return errorf(err, errlen, "--listen %s: '%s' is not a numeric IPv4 or IPv6 address",
		              listen, host);
	memset(out, 0, sizeof *out);
	memcpy(out, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static int check_listen(const char *listen, int has_token, struct sockaddr_storage *sa, char *err,
                        size_t errlen)
{
	if (parse_listen(listen, sa, err, errlen) != 0)
		return -1;
	if (!loopback((struct sockaddr *)sa) && !has_token)
		return errorf(err, errlen, "--listen %s is not a loopback address: give --token-file "
		              "too, so that only holders of the token can reach the API", listen);
	return 0;
}

int http_server_start(struct http_server **out, const struct http_server_options *o, char *err,
                      size_t errlen)
{
	struct sockaddr_storage sa;
	*out = NULL;
	if (check_listen(o->listen, o->token != NULL, &sa, err, errlen) != 0)
		return -1;
	struct http_server *s = calloc(1, sizeof *s);
	if (!s)
		return errorf(err, errlen, "out of memory");
	s->handler = o->handler;
	s->public_request = o->public_request;
	s->ctx = o->ctx;
	if (o->token) {
		if (copy_str(s->token, sizeof s->token, o->token) != 0 || !o->token[0]) {
			free(s);
			return errorf(err, errlen, "the token must be 1 to %d bytes", HTTP_TOKEN_MAX - 1);
		}
		s->has_token = 1;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	                        MHD_OPTION_END);
	if (!s->d) {
		free(s);
		return errorf(err, errlen, "--listen %s: cannot listen there (the port in use, or "
		              "not an address of this machine?)", o->listen);
	}
	const union MHD_DaemonInfo *port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN] = "";
	if (sa.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof host);
		snprintf(s->url, sizeof s->url, "http://[%s]:%u/", host, port ? port->port : 0);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof host);
		snprintf(s->url, sizeof s->url, "http://%s:%u/", host, port ? port->port : 0);
	}
	*out = s;
	return 0;
}

const char *http_server_url(const struct http_server *s)
{
	return s->url;
}

void http_server_run(struct http_server *s, int wait_ms)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
	MHD_UNSIGNED_LONG_LONG mhd_ms;
	if (MHD_get_timeout(s->d, &mhd_ms) == MHD_YES && mhd_ms < (MHD_UNSIGNED_LONG_LONG)wait_ms)
		wait_ms = (int)mhd_ms;
	if (info && wait_ms > 0) {
		struct pollfd p = { info->epoll_fd, POLLIN, 0 };
		poll(&p, 1, wait_ms);
	}
	MHD_run(s->d);
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	/* No new connection; a request that comes on an open one is answered
	 * 503 without reaching the handler (the engine has finished). */
	s->stopping = 1;
	MHD_socket listener = MHD_quiesce_daemon(s->d);
	/* Every request still waiting is answered, every stream ended; a few
	 * rounds send what is ready. */
	for (struct http_request *r = s->all; r; r = r->next) {
		if (r->streaming)
			r->stream_ended = 1;
		else if (r->handled && !r->replied)
			reply_error(r, 503, "the server is shutting down");
		wake(r);
	}
	double t0 = wall_now();
	while (s->all && wall_now() - t0 < 1.0)
		http_server_run(s, 10);
	/* MHD must not stop with a connection suspended: none is (each was
	 * answered and woken above, and nothing waits any more), but a wake
	 * may still be pending. */
	int pending = 0;
	for (struct http_request *r = s->all; r; r = r->next)
		if (r->suspended) {
			wake(r);
			pending = 1;
		}
	if (pending)
		MHD_run(s->d);
	MHD_stop_daemon(s->d);
	if (listener != MHD_INVALID_SOCKET)
		close(listener);
	free(s);
}
