/*
 * api_events.c - GET /api/v1/events: Server-Sent Events.  Every second a
 * `sample` of the counters (orders accepted and rejected by reason, sync
 * lag, queue depths, node states); and as it happens, every `node`,
 * `partition` and `fault` change, the API's and the schedule's alike (the
 * engine tells live_on_step of each step it applies).
 *
 * Bounded: at most EVENTS_STREAMS_MAX streams, each with a buffer of
 * EVENTS_BUFFER_MAX bytes.  A client that does not read fast enough to keep
 * its buffer from overflowing is disconnected; memory never grows with it.
 * When every slot is taken, the streams whose clients have gone give theirs
 * back at once (http_streams_reap), not at their next event.
 */
#include "api.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "live.h"
#include "metrics.h"
#include "node.h"
#include "sync.h"
#include "util.h"
#include "world.h"

#define EVENTS_STREAMS_MAX 32
#define EVENTS_BUFFER_MAX (64 * 1024)
/* Seconds between two samples. */
#define EVENTS_SAMPLE_EVERY_S 1.0

struct events_stream {
	struct api_events *ev;
	struct http_request *r; /* NULL: a free slot */
	char *buf;              /* EVENTS_BUFFER_MAX bytes; what is not sent yet */
	size_t off, len;        /* buf[off..len) is waiting */
	int overflowed;         /* the client fell behind: end it */
};

struct api_events {
	struct api *a;
	struct events_stream streams[EVENTS_STREAMS_MAX];
	size_t n_streams;
	double next_sample; /* wall clock */
	uint64_t disconnected; /* streams ended because their client fell behind */
	/* The sync lag of the events applied in the last sample's second: the
	 * session's histogram then, and what it gained since the one before. */
	struct histogram lag_then, lag_interval;
};

/* ---- the streams ---------------------------------------------------------------- */

static long produce(void *ctx, char *buf, size_t max)
{
	struct events_stream *s = ctx;
	if (s->overflowed)
		return -1;
	size_t n = s->len - s->off;
	if (n == 0)
		return 0; /* nothing now: the connection waits for http_stream_wake */
	if (n > max)
		n = max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	if (s->off == s->len)
		s->off = s->len = 0;
	return (long)n;
}

static void stream_done(void *ctx)
{
	struct events_stream *s = ctx;
	free(s->buf);
	s->ev->n_streams--;
	memset(s, 0, sizeof *s);
}

/* Queues text on stream s and wakes it; past its buffer, the stream ends. */
static void queue_text(struct events_stream *s, const char *text, size_t n)
{
	if (s->overflowed)
		return;
	if (s->len - s->off + n > EVENTS_BUFFER_MAX) {
		s->overflowed = 1;
		s->ev->disconnected++;
		free(s->buf);
		s->buf = NULL;
		s->off = s->len = 0;
	} else {
		if (s->len + n > EVENTS_BUFFER_MAX) {
			memmove(s->buf, s->buf + s->off, s->len - s->off);
			s->len -= s->off;
			s->off = 0;
		}
		memcpy(s->buf + s->len, text, n);
		s->len += n;
	}
	http_stream_wake(s->r);
}

/* "event: NAME\ndata: JSON\n\n" (body is freed); to one stream, or to all
 * (only NULL). */
static void send_event(struct api_events *ev, struct events_stream *only, const char *name,
                       cJSON *body)
{
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	if (!json)
		return;
	size_t n = strlen(name) + strlen(json) + 20;
	char *text = malloc(n);
	if (text) {
		int len = snprintf(text, n, "event: %s\ndata: %s\n\n", name, json);
		for (size_t i = 0; i < EVENTS_STREAMS_MAX; i++) {
			struct events_stream *s = &ev->streams[i];
			if (s->r && (!only || only == s))
				queue_text(s, text, (size_t)len);
		}
	}
	free(text);
	free(json);
}

/* ---- what is said ---------------------------------------------------------------- */

static cJSON *sample_json(struct api *a)
{
	struct live *l = a->live;
	const struct metrics *m = live_metrics(l);
	struct world *w = live_world(l);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "clock_s", (double)live_now(l) / 1e6);
	cJSON_AddNumberToObject(o, "uptime_s", live_uptime_s(l));
	cJSON *orders = cJSON_AddObjectToObject(o, "orders");
	if (orders) {
		uint64_t by_reason[API_REASONS];
		api_reasons(m, by_reason);
		cJSON_AddNumberToObject(orders, "accepted", (double)m->orders_accepted);
		cJSON_AddNumberToObject(orders, "rejected", (double)m->orders_rejected);
		cJSON *rr = cJSON_AddObjectToObject(orders, "rejected_by_reason");
		for (size_t i = 0; rr && i < API_REASONS; i++)
			cJSON_AddNumberToObject(rr, api_reason_names[i], (double)by_reason[i]);
	}
	cJSON *lag = cJSON_AddObjectToObject(o, "sync_lag_s");
	const struct histogram *in = &a->events->lag_interval;
	if (lag && in->count) {
		cJSON_AddNumberToObject(lag, "p50", (double)hist_percentile(in, 0.5) / 1e6);
		cJSON_AddNumberToObject(lag, "p99", (double)hist_percentile(in, 0.99) / 1e6);
	} else if (lag) { /* nothing applied: no lag to tell (the queues say what waits) */
		cJSON_AddNullToObject(lag, "p50");
		cJSON_AddNullToObject(lag, "p99");
	}
	if (lag) {
		cJSON_AddNumberToObject(lag, "count", (double)in->count);
		cJSON_AddNumberToObject(lag, "count_total", (double)m->sync_lag_us.count);
	}
	cJSON *queues = cJSON_AddObjectToObject(o, "queues");
	if (queues) {
		struct sync_backlog b;
		live_sync_backlog(l, &b);
		cJSON_AddNumberToObject(queues, QUEUE_CENTRAL, (double)b.central_queue);
		cJSON_AddNumberToObject(queues, QUEUE_DOCUMENTS, (double)b.documents_queue);
		for (size_t r = 0; r < w->n_regions; r++) {
			char q[DDB_ID_MAX];
			uint64_t depth = 0;
			struct ddb_err de = { "" };
			world_node_queue(w->regions[r].node, q, sizeof q);
			world_node_queue_depth(w, r, &depth, &de);
			cJSON_AddNumberToObject(queues, q, (double)depth);
		}
	}
	cJSON *nodes = cJSON_AddObjectToObject(o, "nodes");
	for (size_t i = 0; nodes && i < w->nodes.n; i++)
		cJSON_AddStringToObject(nodes, w->nodes.v[i].name, node_state_name(w->nodes.v[i].state));
	return o;
}

static void add_names(cJSON *o, const char *key, const char (*names)[DDB_NAME_MAX], size_t n)
{
	cJSON *list = cJSON_AddArrayToObject(o, key);
	for (size_t i = 0; list && i < n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(names[i]));
}

/* A step the engine applied: a node, partition or fault event. */
static void step_applied(void *ctx, long api_id, const struct scenario_failure *f,
                         const char *what)
{
	struct api *a = ctx;
	struct api_events *ev = a->events;
	if (!ev || ev->n_streams == 0)
		return;
	struct world *w = live_world(a->live);
	const char *name;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return;
	cJSON_AddNumberToObject(o, "clock_s", (double)live_now(a->live) / 1e6);
	cJSON_AddStringToObject(o, "source", api_id > 0 ? "api" : "schedule");
	if (api_id > 0)
		cJSON_AddNumberToObject(o, "id", (double)api_id);
	cJSON_AddBoolToObject(o, "ended", f->ends);
	switch (f->action) {
	case FAILURE_DOWN:
	case FAILURE_UP:
	case FAILURE_SLOW: {
		name = "node";
		const struct node *n = node_find(&w->nodes, f->target);
		cJSON_AddStringToObject(o, "node", f->target);
		if (n) {
			cJSON_AddStringToObject(o, "state", node_state_name(n->state));
			if (n->state == NODE_SLOW)
				cJSON_AddNumberToObject(o, "latency_ms", (double)n->latency_us / 1e3);
		}
		break;
	}
	case FAILURE_PARTITION:
	case FAILURE_HEAL:
		name = "partition";
		cJSON_AddStringToObject(o, "action", f->ends || f->action == FAILURE_HEAL ? "heal"
		                                                                       : "partition");
		add_names(o, "from", (const char (*)[DDB_NAME_MAX])f->from, f->n_from);
		add_names(o, "to", (const char (*)[DDB_NAME_MAX])f->to, f->n_to);
		cJSON_AddBoolToObject(o, "oneway", f->oneway);
		break;
	default: /* message faults, crash and restart */
		name = "fault";
		cJSON_AddStringToObject(o, "kind", failure_action_name(f->action));
		if (f->target[0])
			cJSON_AddStringToObject(o, "target", f->target);
		if (f->action >= FAILURE_DROP && f->action <= FAILURE_REORDER)
			cJSON_AddNumberToObject(o, "probability", f->probability);
		if (f->action == FAILURE_DELAY && !f->ends)
			cJSON_AddNumberToObject(o, "delay_ms", (double)f->delay_us / 1e3);
		break;
	}
	cJSON_AddStringToObject(o, "what", what);
	send_event(ev, NULL, name, o);
}

/* ---- the module ---------------------------------------------------------------------- */

void api_events_init(struct api *a)
{
	a->events = calloc(1, sizeof *a->events);
	if (!a->events)
		return; /* GET /events answers 503 */
	a->events->a = a;
	a->events->lag_then = live_metrics(a->live)->sync_lag_us;
	hist_init(&a->events->lag_interval);
	a->events->next_sample = wall_now() + EVENTS_SAMPLE_EVERY_S;
	live_on_step(a->live, step_applied, a);
}

void api_events_free(struct api *a)
{
	if (!a->events)
		return;
	live_on_step(a->live, NULL, NULL);
	/* The server ended every stream before (http_server_stop); a stream
	 * still here would point into this memory. */
	for (size_t i = 0; i < EVENTS_STREAMS_MAX; i++)
		free(a->events->streams[i].buf);
	free(a->events);
	a->events = NULL;
}

void api_events_counts(const struct api *a, uint64_t *open, uint64_t *dropped)
{
	*open = a->events ? a->events->n_streams : 0;
	*dropped = a->events ? a->events->disconnected : 0;
}

void api_events_tick(struct api *a)
{
	struct api_events *ev = a->events;
	if (!ev)
		return;
	double now = wall_now();
	if (now < ev->next_sample)
		return;
	ev->next_sample += EVENTS_SAMPLE_EVERY_S;
	if (ev->next_sample < now)
		ev->next_sample = now + EVENTS_SAMPLE_EVERY_S;
	hist_subtract(&ev->lag_interval, &live_metrics(a->live)->sync_lag_us, &ev->lag_then);
	ev->lag_then = live_metrics(a->live)->sync_lag_us;
	if (ev->n_streams > 0)
		send_event(ev, NULL, "sample", sample_json(a));
}

static struct events_stream *free_slot(struct api_events *ev)
{
	for (size_t i = 0; i < EVENTS_STREAMS_MAX; i++)
		if (!ev->streams[i].r)
			return &ev->streams[i];
	return NULL;
}

enum http_outcome api_events_get(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	struct api_events *ev = a->events;
	if (!ev)
		return api_error(r, 503, NULL, "out of memory for event streams");
	struct events_stream *s = free_slot(ev);
	if (!s && http_streams_reap(r) > 0)
		s = free_slot(ev); /* the clients gone since their last event gave theirs back */
	if (!s)
		return api_error(r, 503, NULL, "too many event streams (%d): try again later",
		                 EVENTS_STREAMS_MAX);
	s->buf = malloc(EVENTS_BUFFER_MAX);
	if (!s->buf)
		return api_error(r, 503, NULL, "out of memory for an event stream");
	s->ev = ev;
	s->r = r;
	ev->n_streams++;
	struct http_stream st = { produce, stream_done, s };
	http_reply_stream(r, "text/event-stream", &st);
	static const char hello[] = "retry: 1000\n\n";
	queue_text(s, hello, sizeof hello - 1);
	send_event(ev, s, "sample", sample_json(a)); /* a first sample at once */
	return HTTP_DONE;
}
