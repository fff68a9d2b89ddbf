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
		live_commit_orders(l); /* what came in while the events ran */
		http_server_run(srv, wait_ms);
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
