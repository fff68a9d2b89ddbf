/*
 * serve.h - `ddbsim serve`: runs a scenario on the wall clock behind the
 * HTTP API until a signal or POST /api/v1/shutdown, then finishes as a run
 * does (the sync settles, the checks run).
 */
#ifndef DDBSIM_SERVE_H
#define DDBSIM_SERVE_H

#include "engine.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:8080"
#define SERVE_DEFAULT_SCENARIO "live.lua"
#define SERVE_SPEED_MAX 1000.0

struct serve_options {
	const char *listen;  /* ADDRESS:PORT */
	double speed;        /* engine seconds per wall second */
	const char *token;   /* NULL: no token (loopback only) */
	const char *record;  /* --record FILE, or NULL */
	/* Called once listening, with the URL (the first line of output). */
	void (*on_listening)(void *ctx, const char *url);
	void *on_listening_ctx;
};

void serve_options_init(struct serve_options *so);
/* Serves until *o->stop or a shutdown request; fills res as engine_run
 * does.  0 (the checks may have failed: res says), or -1 with err set. */
int serve(const struct serve_options *so, const struct engine_options *o, struct run_result *res,
          char *err, size_t errlen);

#endif
