/*
 * http_server.h - the HTTP side of `ddbsim serve`: libmicrohttpd driven
 * from the engine's own loop (external epoll, no thread of its own), so
 * that every request is handled on the engine's thread, between two
 * events.  It collects a request (headers, query, a body of at most
 * HTTP_BODY_MAX bytes), checks the token, hands it to the handler, and
 * sends the reply it is given, at once or later (a request can wait, its
 * connection suspended, e.g. for its order's commit).
 */
#ifndef DDBSIM_HTTP_SERVER_H
#define DDBSIM_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_BODY_MAX (64 * 1024)
#define HTTP_CONNECTIONS_MAX 256
#define HTTP_TIMEOUT_S 30
#define HTTP_TOKEN_MAX 512

struct http_server;
struct http_request;

/* What a handler answers: the reply is set (http_reply), or it will be,
 * later (the connection waits, suspended). */
enum http_outcome { HTTP_DONE = 0, HTTP_LATER = 1 };

/* A stream (Server-Sent Events): the server asks for more whenever the
 * client can take it; the producer writes at most max bytes to buf and
 * returns how many, 0 when it has nothing now (the connection then waits
 * until http_stream_wake), or -1 to drop the connection (e.g. a client too
 * slow to keep up).  At http_server_stop a stream ends cleanly.  done is
 * called once when the stream ends (client gone, dropped, server
 * stopping). */
struct http_stream {
	long (*produce)(void *ctx, char *buf, size_t max);
	void (*done)(void *ctx);
	void *ctx;
};

typedef enum http_outcome (*http_handler_fn)(void *ctx, struct http_request *req);

struct http_server_options {
	const char *listen;    /* "ADDR:PORT", "[V6ADDR]:PORT"; port 0 picks a free one */
	const char *token;     /* required as "Authorization: Bearer TOKEN" on every request
	                          but GET /metrics; NULL: none (loopback only) */
	http_handler_fn handler;
	void *ctx;
	/* Requests that need no token although there is one (the web page's
	 * files: a browser cannot send the token when it opens the page);
	 * NULL: none but GET /metrics. */
	int (*public_request)(const char *method, const char *path);
};

/* Starts listening.  A non-loopback address without a token is refused.
 * -1 with err set. */
int http_server_start(struct http_server **out, const struct http_server_options *o, char *err,
                      size_t errlen);
/* The address it listens on, as a URL: "http://127.0.0.1:PORT/". */
const char *http_server_url(const struct http_server *s);
/* Waits until a connection needs the server or wait_ms passed, then does
 * what the connections need (reads, calls the handler, writes). */
void http_server_run(struct http_server *s, int wait_ms);
/* Sends every reply that is ready and stops; streams are ended, requests
 * still waiting get 503. */
void http_server_stop(struct http_server *s);

/* The request. */
const char *http_method(const struct http_request *r);
const char *http_path(const struct http_request *r);
/* A query argument (decoded), or NULL. */
const char *http_query(const struct http_request *r, const char *key);
/* Whether the query has any argument not in the NULL-terminated list
 * known; *unknown gets its name. */
int http_query_unknown(const struct http_request *r, const char *const *known, const char **unknown);
const char *http_header(const struct http_request *r, const char *name);
const char *http_body(const struct http_request *r, size_t *len);

/* Sets the reply: body (copied) with its content type.  A request that
 * waits (HTTP_LATER) is answered now. */
void http_reply(struct http_request *r, int status, const char *content_type, const char *body,
                size_t len);
/* Adds a header to the reply (before http_reply). */
void http_reply_header(struct http_request *r, const char *name, const char *value);
/* Answers with a stream instead (status 200). */
void http_reply_stream(struct http_request *r, const char *content_type,
                       const struct http_stream *stream);
/* A stream that answered 0 has more to say. */
void http_stream_wake(struct http_request *r);
/* Ends now every stream waiting for data whose client has gone (closed or
 * reset its connection), so that its done is called at once: MHD does not
 * watch a waiting stream's connection, and would notice only at a later
 * write.  r: any request of the server.  Returns how many ended. */
size_t http_streams_reap(struct http_request *r);

#endif
