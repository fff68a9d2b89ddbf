/*
 * serve.c - `ddbsim serve`: the live engine (live.c) and the HTTP API
 * (api.c over http_server.c) on one thread.  The loop runs the engine's
 * events as the wall clock reaches them, and between two of them lets the
 * HTTP server read requests (each handled at once, on this thread) and
 * write replies; the orders that came in together commit together.  It
 * ends on a signal or POST /api/v1/shutdown, then finishes like a run.
 */
#include "serve.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "http_server.h"
#include "live.h"
#include "util.h"

/* The longest the loop sleeps: it also notices a signal this often. */
#define SERVE_TICK_MS 100

/* The group commit's window: how long the loop keeps reading requests
 * before a commit while more orders keep coming. */
#define SERVE_GATHER_US 200

/* The orders read so far wait for one commit; the clients answered last
 * round send their next orders meanwhile.  Reading on while new orders
 * keep arriving (at most SERVE_GATHER_US) lets those join this commit
 * instead of making one of their own: fewer, larger commits (a region
 * commit costs about as much for one order as for eight).  One pass
 * without a new order ends the window: a lone client waits a few
 * microseconds, not the window. */
static void gather_orders(struct http_server *srv, struct live *l)
{
	size_t n = live_orders_waiting(l);
	double t0 = wall_now();
	while (n > 0 && wall_now() - t0 < SERVE_GATHER_US * 1e-6) {
		http_server_run(srv, 0);
		size_t now = live_orders_waiting(l);
		if (now <= n)
			break;
		n = now;
	}
}

void serve_options_init(struct serve_options *so)
{
	memset(so, 0, sizeof *so);
	so->listen = SERVE_DEFAULT_LISTEN;
	so->speed = 1.0;
}

int serve(const struct serve_options *so, const struct engine_options *o, struct run_result *res,
          char *err, size_t errlen)
{
	struct live *l = NULL;
	struct http_server *srv = NULL;
	struct api api;
	/* A signal ends the session as a shutdown request does: the engine
	 * then finishes like a run, not interrupted. */
	struct engine_options eo = *o;
	eo.stop = NULL;
	/* The port is taken before the scenario starts: a serve refused for
	 * its address has not touched a store (on servers another session may
	 * share).  No request is read before the loop, so the handler's
	 * context can be set up after. */
	struct http_server_options ho = { so->listen, so->token, api_handle, &api,
		                          api_static_public };
	if (http_server_start(&srv, &ho, err, errlen) != 0)
		return -1;
	int rc = live_open(&l, &eo, so->speed, res, err, errlen);
	if (rc != 0) {
		live_close(l);
		http_server_stop(srv);
		return rc > 0 ? 0 : -1; /* interrupted during setup: res says where */
	}
	if (so->record && live_record(l, so->record, err, errlen) != 0) {
		live_close(l);
		http_server_stop(srv);
		return -1;
	}
	api_init(&api, l);
	if (so->on_listening)
		so->on_listening(so->on_listening_ctx, http_server_url(srv));
	int wait_ms = 0;
	rc = 0;
	while (!(o->stop && *o->stop) && !api.shutdown) {
		if (live_advance(l, SERVE_TICK_MS, &wait_ms, err, errlen) != 0) {
			rc = -1;
			break;
		}
		/* Orders read while the last answers went out wait for this
		 * round's requests and commit with them: no sleep then. */
		http_server_run(srv, live_orders_waiting(l) ? 0 : wait_ms);
		gather_orders(srv, l);
		live_commit_orders(l); /* what this round of requests placed */
		/* Their answers go out now, not after the next events (this
		 * round also reads what came meanwhile: the next group). */
		http_server_run(srv, 0);
		api_tick(&api);
	}
	/* The last round read requests after its commit: they commit now, so
	 * that their clients hear the outcome, not a 503. */
	live_commit_orders(l);
	if (rc == 0)
		rc = live_finish(l, res, err, errlen);
	/* The orders still waiting were decided by the finish: their clients
	 * hear it before the server stops. */
	http_server_stop(srv);
	api_free(&api);
	live_close(l);
	return rc;
}
