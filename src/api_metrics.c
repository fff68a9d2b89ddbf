/*
 * api_metrics.c - GET /metrics: the session's counters, gauges and
 * histograms in the Prometheus text format 0.0.4, written directly (no
 * client library).  Names have the ddbsim_ prefix and base units
 * (seconds), counters end in _total, every family has its HELP and TYPE,
 * and label values are escaped as the format says.  The rejection
 * categories (api_reasons) are shared with GET /api/v1/events.
 */
#include "api.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "live.h"
#include "metrics.h"
#include "node.h"
#include "sync.h"
#include "util.h"
#include "world.h"

/* The page stops growing here (it is a few KiB with 61 regions). */
#define METRICS_PAGE_MAX (1024 * 1024)

const char *const api_reason_names[API_REASONS] = { "stock",       "rule",      "invalid",
	                                            "unavailable", "duplicate", "error" };

void api_reasons(const struct metrics *m, uint64_t out[API_REASONS])
{
	memset(out, 0, API_REASONS * sizeof *out);
	for (size_t i = 0; i < m->n_reasons; i++) {
		const char *cat = live_reason_category(m->reasons[i].reason);
		size_t k = 2; /* invalid: what no other category takes */
		for (size_t c = 0; c < API_REASONS; c++)
			if (strcmp(cat, api_reason_names[c]) == 0)
				k = c;
		out[k] += m->reasons[i].n;
	}
}

/* ---- the page ------------------------------------------------------------------- */

struct page {
	char *text;
	size_t len, cap;
	int failed; /* out of memory or past METRICS_PAGE_MAX */
};

static void put(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct page *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(p->text ? p->text + p->len : NULL, p->text ? p->cap - p->len : 0, fmt,
		                  ap);
		va_end(ap);
		if (n < 0) {
			p->failed = 1;
			return;
		}
		if (p->text && (size_t)n < p->cap - p->len) {
			p->len += (size_t)n;
			return;
		}
		size_t cap = p->cap ? p->cap * 2 : 16384;
		while (cap < p->len + (size_t)n + 1)
			cap *= 2;
		char *grown = cap <= METRICS_PAGE_MAX ? realloc(p->text, cap) : NULL;
		if (!grown) {
			p->failed = 1;
			return;
		}
		p->text = grown;
		p->cap = cap;
	}
}

/* A label value with backslash, double quote and newline escaped. */
static void put_label_value(struct page *p, const char *v)
{
	char buf[256];
	size_t n = 0;
	for (; *v && n + 3 < sizeof buf; v++) {
		if (*v == '\\' || *v == '"') {
			buf[n++] = '\\';
			buf[n++] = *v;
		} else if (*v == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *v;
		}
	}
	buf[n] = 0;
	put(p, "%s", buf);
}

/* The HELP and TYPE lines of a family (help: no backslash or newline). */
static void family(struct page *p, const char *name, const char *type, const char *help)
{
	put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value: a whole number as one (exact below 2^53), else 9 digits. */
static void put_value(struct page *p, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		put(p, "%.0f\n", v);
	else
		put(p, "%.9g\n", v);
}

static void sample(struct page *p, const char *name, double v)
{
	put(p, "%s ", name);
	put_value(p, v);
}

static void labelled(struct page *p, const char *name, const char *label, const char *value,
                     double v)
{
	put(p, "%s{%s=\"", name, label);
	put_label_value(p, value);
	put(p, "\"} ");
	put_value(p, v);
}

static void counter(struct page *p, const char *name, const char *help, uint64_t v)
{
	family(p, name, "counter", help);
	sample(p, name, (double)v);
}

static void gauge(struct page *p, const char *name, const char *help, double v)
{
	family(p, name, "gauge", help);
	sample(p, name, v);
}

/* Bucket bounds of the histograms, in seconds. */
static const double bounds_s[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
	                           5,      10,      30,     60,    120,    300 };

/* A histogram of microseconds, in seconds: cumulative buckets ending with
 * +Inf (= _count), _sum, _count. */
static void histogram(struct page *p, const char *name, const char *help,
                      const struct histogram *h)
{
	family(p, name, "histogram", help);
	for (size_t i = 0; i < ARRAY_LEN(bounds_s); i++) {
		int64_t us = (int64_t)(bounds_s[i] * 1e6 + 0.5);
		put(p, "%s_bucket{le=\"%g\"} %llu\n", name, bounds_s[i],
		    (unsigned long long)hist_count_at_most(h, us));
	}
	put(p, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	put(p, "%s_sum ", name);
	put_value(p, h->sum / 1e6);
	put(p, "%s_count %llu\n", name, (unsigned long long)h->count);
}

struct in_force {
	uint64_t partitions, faults;
};

static void count_steps(void *ctx, long id, const struct scenario_failure *f, int64_t ends_at_us)
{
	(void)id;
	(void)ends_at_us;
	struct in_force *n = ctx;
	if (f->action == FAILURE_PARTITION)
		n->partitions++;
	else if (f->action >= FAILURE_DROP && f->action <= FAILURE_REORDER)
		n->faults++;
}

/* Orders: generated, accepted, rejected by reason, latency. */
static void write_orders(struct page *p, const struct metrics *m)
{
	counter(p, "ddbsim_orders_generated_total", "Orders the scenario's workload generated.",
	        m->orders_generated);
	counter(p, "ddbsim_orders_accepted_total", "Orders committed in their region.",
	        m->orders_accepted);
	uint64_t by_reason[API_REASONS];
	api_reasons(m, by_reason);
	family(p, "ddbsim_orders_rejected_total", "counter", "Orders rejected, by reason.");
	for (size_t i = 0; i < API_REASONS; i++)
		labelled(p, "ddbsim_orders_rejected_total", "reason", api_reason_names[i],
		         (double)by_reason[i]);
	counter(p, "ddbsim_orders_routed_total", "Orders the order rule sent to another region.",
	        m->orders_routed);
	counter(p, "ddbsim_group_commits_total", "Group commits of order batches.",
	        m->group_commits);
	histogram(p, "ddbsim_order_latency_seconds",
	          "Order latency on the engine clock, from arrival to durable commit.",
	          &m->order_latency_us);
}

/* The sync: events relayed and applied, lag, how far the center is behind. */
static void write_sync(struct page *p, struct live *l, const struct metrics *m)
{
	struct world *w = live_world(l);
	counter(p, "ddbsim_events_relayed_total", "Outbox events published and confirmed.",
	        m->events_relayed);
	family(p, "ddbsim_events_applied_total", "counter",
	       "Outbox events applied, by the store that applied them.");
	labelled(p, "ddbsim_events_applied_total", "store", "central",
	         (double)m->events_applied_central);
	labelled(p, "ddbsim_events_applied_total", "store", "documents",
	         (double)m->events_applied_documents);
	counter(p, "ddbsim_redeliveries_total", "Messages the transport delivered again.",
	        m->redeliveries);
	counter(p, "ddbsim_poison_messages_total", "Messages set aside as unreadable.",
	        m->poison_messages);
	histogram(p, "ddbsim_sync_lag_seconds",
	          "Sync lag on the engine clock, from an order placed to applied at the center.",
	          &m->sync_lag_us);
	family(p, "ddbsim_sync_behind_events", "gauge",
	       "Events of a region's outbox not yet applied (NEW or PUBLISHED, up to 1,024 each).");
	for (size_t r = 0; r < w->n_regions; r++) {
		uint64_t behind = 0;
		int capped = 0;
		if (live_region_behind(l, r, 1024, &behind, &capped) == 0)
			labelled(p, "ddbsim_sync_behind_events", "region", w->regions[r].node->name,
			         (double)behind);
	}
}

/* The transport's queues: sync.central, sync.documents, each node.NAME. */
static void write_queues(struct page *p, struct live *l)
{
	struct world *w = live_world(l);
	struct sync_backlog b;
	int backlog_ok = live_sync_backlog(l, &b) == 0;
	family(p, "ddbsim_queue_depth", "gauge", "Messages in a queue of the transport, ready or "
	       "not yet acknowledged.");
	if (backlog_ok) {
		labelled(p, "ddbsim_queue_depth", "queue", QUEUE_CENTRAL, (double)b.central_queue);
		labelled(p, "ddbsim_queue_depth", "queue", QUEUE_DOCUMENTS, (double)b.documents_queue);
	}
	for (size_t r = 0; r < w->n_regions; r++) {
		char q[DDB_ID_MAX];
		uint64_t depth = 0;
		struct ddb_err de = { "" };
		world_node_queue(w->regions[r].node, q, sizeof q);
		if (world_node_queue_depth(w, r, &depth, &de) == DDB_OK)
			labelled(p, "ddbsim_queue_depth", "queue", q, (double)depth);
	}
}

/* Nodes (up, slow, cut off) and the API's faults in force. */
static void write_nodes(struct page *p, struct live *l, const struct metrics *m)
{
	struct world *w = live_world(l);
	family(p, "ddbsim_node_up", "gauge", "1 when a node is up or slow, 0 when it is down.");
	for (size_t i = 0; i < w->nodes.n; i++)
		labelled(p, "ddbsim_node_up", "node", w->nodes.v[i].name,
		         w->nodes.v[i].state == NODE_DOWN ? 0 : 1);
	family(p, "ddbsim_node_latency_seconds", "gauge",
	       "The latency a slow node adds to every call (0 when not slow).");
	for (size_t i = 0; i < w->nodes.n; i++)
		labelled(p, "ddbsim_node_latency_seconds", "node", w->nodes.v[i].name,
		         w->nodes.v[i].state == NODE_SLOW ? (double)w->nodes.v[i].latency_us / 1e6 : 0);
	family(p, "ddbsim_node_links_cut", "gauge", "Nodes a node cannot reach (partitions).");
	for (size_t i = 0; i < w->nodes.n; i++)
		labelled(p, "ddbsim_node_links_cut", "node", w->nodes.v[i].name,
		         (double)__builtin_popcountll(w->nodes.v[i].cut_to));
	counter(p, "ddbsim_unavailable_calls_total",
	        "Store and transport calls refused or failed as unavailable.", m->unavailable_calls);
	struct in_force n = { 0, 0 };
	live_steps_each(l, count_steps, &n);
	gauge(p, "ddbsim_api_partitions", "Partitions of the API in force.", (double)n.partitions);
	gauge(p, "ddbsim_api_faults", "Message faults of the API in force.", (double)n.faults);
}

static void write_page(struct api *a, struct page *p)
{
	struct live *l = a->live;
	const struct metrics *m = live_metrics(l);
	write_orders(p, m);
	write_sync(p, l, m);
	write_queues(p, l);
	write_nodes(p, l, m);

	const struct customer_metrics *c = &m->customers;
	counter(p, "ddbsim_customers_created_total", "Customer records created.", c->created);
	counter(p, "ddbsim_customer_writes_queued_total",
	        "Customer writes queued for a copy on a node that was down.", c->writes_queued);
	counter(p, "ddbsim_customer_writes_replayed_total",
	        "Queued customer writes replayed into their node when it came back.", c->replayed);

	/* the server */
	gauge(p, "ddbsim_clock_seconds", "The engine clock.", (double)live_now(l) / 1e6);
	gauge(p, "ddbsim_speed", "How fast the engine clock runs against the wall clock.",
	      live_speed(l));
	gauge(p, "ddbsim_uptime_seconds", "Wall time since the server started.", live_uptime_s(l));
	counter(p, "ddbsim_http_requests_total", "HTTP requests the API handled.", a->requests);
	uint64_t streams, dropped;
	api_events_counts(a, &streams, &dropped);
	gauge(p, "ddbsim_event_streams", "Event streams (GET /api/v1/events) open.",
	      (double)streams);
	counter(p, "ddbsim_event_streams_dropped_total",
	        "Event streams dropped because their client fell behind.", dropped);
}

enum http_outcome api_metrics_get(struct api *a, struct http_request *r, const char *arg)
{
	(void)arg;
	struct page p = { NULL, 0, 0, 0 };
	write_page(a, &p);
	if (p.failed) {
		free(p.text);
		return api_error(r, 503, NULL, "out of memory for the metrics");
	}
	http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", p.text, p.len);
	free(p.text);
	return HTTP_DONE;
}
