/*
 * orders.c - from an order's arrival to its durable commit in a region.
 *
 * Arrival: workload.order() picks sku, quantity and customer; the price is
 * the catalog's; rules.order() may accept, reject or change it; then the
 * core validates it and queues it for the region's group commit.  Commit:
 * one store call places the whole batch; each order is atomic on its own
 * and is counted accepted only once the store says it is durable.
 */
#include "orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "metrics.h"
#include "scenario.h"
#include "world.h"
#include "util.h"

/* Orders are capped so that quantity * price and sums over a run stay far
 * from int64 overflow. */
#define ORDER_QUANTITY_MAX 1000000000LL

int orders_init(struct orders *o, struct world *w, struct scenario *sc, const struct catalog *cat,
                struct metrics *m, size_t batch_max)
{
	memset(o, 0, sizeof *o);
	o->batches = calloc(w->n_regions ? w->n_regions : 1, sizeof *o->batches);
	if (!o->batches)
		return -1;
	o->w = w;
	o->sc = sc;
	o->cat = cat;
	o->m = m;
	o->n_regions = w->n_regions;
	o->batch_max = batch_max < 1 ? 1 : batch_max > ORDERS_BATCH_MAX ? ORDERS_BATCH_MAX : batch_max;
	for (size_t r = 0; r < o->n_regions; r++)
		o->batches[r].next_seq = 1;
	return 0;
}

void orders_free(struct orders *o)
{
	free(o->batches);
	memset(o, 0, sizeof *o);
}

const char *orders_validate(const struct catalog *cat, const struct ddb_order *order)
{
	const struct ddb_product *p = catalog_find(cat, order->sku);
	if (!p)
		return "unknown_sku";
	if (order->quantity < 1)
		return "invalid_quantity";
	if (order->quantity > ORDER_QUANTITY_MAX)
		return "invalid_quantity";
	if (order->unit_price_cents < 0)
		return "invalid_price";
	int64_t total;
	if (__builtin_mul_overflow(order->quantity, order->unit_price_cents, &total))
		return "invalid_quantity";
	return NULL;
}

static int refuse(struct orders *o, const char *reason, char *why, size_t whylen)
{
	metrics_reject(o->m, reason);
	if (why)
		copy_str(why, whylen, reason);
	return ORDER_REFUSED;
}

/* The rule, the routing, the validation, and the batch: what every order
 * goes through once its fields are known. */
static int admit(struct orders *o, size_t r, struct ddb_order *order, int64_t now_us, void *tag,
                 size_t *to, char *why, size_t whylen)
{
	char msg[512];
	const struct ddb_product *p = catalog_find(o->cat, order->sku);
	order->unit_price_cents = p ? p->price_cents : 0;

	switch (scenario_order_rule(o->sc, order, msg, sizeof msg)) {
	case RULE_ACCEPT:
		break;
	case RULE_REJECT: {
		char reason[5 + SCENARIO_REASON_MAX] = "rule:";
		copy_str(reason + 5, sizeof reason - 5, msg);
		return refuse(o, reason, why, whylen);
	}
	case RULE_ERROR:
		fprintf(stderr, "ddbsim: %s\n", msg);
		return refuse(o, "rule_error", why, whylen);
	}
	/* The rule may have routed the order to another region; its id and
	 * time stay the core's. */
	struct store *routed = world_region(o->w, order->region);
	long target = routed ? (long)(routed - o->w->regions) : (long)r;
	if ((size_t)target != r)
		o->m->orders_routed++;
	*to = (size_t)target;
	copy_str(order->region, sizeof order->region, o->w->regions[target].node->name);
	order->placed_at_us = now_us;
	const char *invalid = orders_validate(o->cat, order);
	if (invalid)
		return refuse(o, invalid, why, whylen);
	struct order_batch *b = &o->batches[target];
	if (b->in_doubt) /* the region is not answering */
		return refuse(o, "unavailable", why, whylen);
	b->tags[b->n] = tag;
	b->orders[b->n] = *order;
	b->arrived_us[b->n++] = now_us;
	return b->n >= o->batch_max ? ORDER_BATCH_FULL : ORDER_QUEUED;
}

/* A new order of region r: its id, region and time. */
static void start_order(struct orders *o, size_t r, int64_t now_us, struct ddb_order *order)
{
	const char *region = o->w->regions[r].node->name;
	memset(order, 0, sizeof *order);
	o->m->orders_generated++;
	copy_str(order->region, sizeof order->region, region);
	snprintf(order->id, sizeof order->id, "%s-%012lld", region, (long long)o->batches[r].next_seq++);
	order->placed_at_us = now_us;
}

int orders_arrive(struct orders *o, size_t r, int64_t now_us, size_t *to)
{
	struct ddb_order order;
	char msg[512];

	*to = r;
	start_order(o, r, now_us, &order);
	scenario_set_time(o->sc, now_us);
	if (scenario_next_order(o->sc, r, &order, msg, sizeof msg) != 0) {
		fprintf(stderr, "ddbsim: %s\n", msg);
		return refuse(o, "rule_error", NULL, 0);
	}
	return admit(o, r, &order, now_us, NULL, to, NULL, 0);
}

int orders_submit(struct orders *o, size_t r, const struct ddb_order *req, int64_t now_us,
                  void *tag, size_t *to, char *why, size_t whylen)
{
	struct ddb_order order;
	*to = r;
	start_order(o, r, now_us, &order);
	if (req->id[0])
		copy_str(order.id, sizeof order.id, req->id);
	copy_str(order.sku, sizeof order.sku, req->sku);
	copy_str(order.customer, sizeof order.customer, req->customer);
	order.quantity = req->quantity;
	scenario_set_time(o->sc, now_us);
	return admit(o, r, &order, now_us, tag, to, why, whylen);
}

static const char *reason_of(enum ddb_status st)
{
	switch (st) {
	case DDB_INSUFFICIENT: return "insufficient_stock";
	case DDB_NOT_FOUND: return "unknown_sku";
	case DDB_DUPLICATE: return "duplicate_order";
	case DDB_INVALID: return "invalid_order";
	case DDB_UNAVAILABLE: return "unavailable";
	default: return "store_error";
	}
}

/* Tells a submitter what became of its order i of batch b. */
static void tell(struct orders *o, const struct order_batch *b, size_t i, enum ddb_status st)
{
	if (b->tags[i] && o->on_result)
		o->on_result(o->on_result_ctx, b->tags[i], &b->orders[i], st,
		             st == DDB_OK ? NULL : reason_of(st));
}

int orders_commit(struct orders *o, size_t r, int64_t now_us)
{
	struct order_batch *b = &o->batches[r];
	if (b->n == 0)
		return 0;
	struct store *s = &o->w->regions[r];
	struct fault_layer *fl = &o->w->faults;
	uint64_t refused = fl->refused_down + fl->refused_cut;
	struct ddb_err e = { "" };
	enum ddb_status st = store_place_orders(s, b->orders, b->n, b->results, &e);
	/* A slow region answers late: its orders wait that much longer. */
	int64_t done = now_us + faults_take_latency(fl);
	if (st == DDB_UNAVAILABLE) {
		o->m->unavailable_calls++;
		if (fl->refused_down + fl->refused_cut == refused) {
			/* The call reached the store: it may have committed. */
			b->in_doubt = 1;
			o->m->commits_in_doubt++;
			return 1;
		}
		/* Refused before it reached the store: nothing new, but an
		 * earlier attempt may still have committed the batch. */
		if (b->in_doubt)
			return 1;
	}
	if (st == DDB_OK) {
		o->m->group_commits++;
		for (size_t i = 0; i < b->n; i++) {
			enum ddb_status res = b->results[i];
			/* After an unknown outcome, DUPLICATE is our own earlier
			 * commit. */
			if (res == DDB_OK || (b->in_doubt && res == DDB_DUPLICATE)) {
				o->m->orders_accepted++;
				hist_add(&o->m->order_latency_us, done - b->arrived_us[i]);
				tell(o, b, i, DDB_OK);
			} else {
				metrics_reject(o->m, reason_of(res));
				tell(o, b, i, res);
			}
		}
	} else {
		/* Nothing of the batch was committed: every order is refused
		 * with the reason, and the customer would retry. */
		if (st != DDB_UNAVAILABLE)
			fprintf(stderr, "ddbsim: region %s: orders refused: %s\n", s->node->name, e.msg);
		for (size_t i = 0; i < b->n; i++) {
			metrics_reject(o->m, reason_of(st));
			tell(o, b, i, st);
		}
	}
	b->n = 0;
	b->in_doubt = 0;
	return 0;
}

size_t orders_waiting(const struct orders *o, size_t r)
{
	return o->batches[r].n;
}
