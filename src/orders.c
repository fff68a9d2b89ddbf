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
#include "topology.h"
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

int orders_arrive(struct orders *o, size_t r, int64_t now_us)
{
	struct order_batch *b = &o->batches[r];
	struct ddb_order *order = &b->orders[b->n];
	const char *region = o->w->regions[r].node->name;
	char msg[512];

	memset(order, 0, sizeof *order);
	o->m->orders_generated++;
	copy_str(order->region, sizeof order->region, region);
	snprintf(order->id, sizeof order->id, "%s-%012lld", region, (long long)b->next_seq++);
	order->placed_at_us = now_us;
	scenario_set_time(o->sc, now_us);
	if (scenario_next_order(o->sc, r, order, msg, sizeof msg) != 0) {
		fprintf(stderr, "ddbsim: %s\n", msg);
		metrics_reject(o->m, "rule_error");
		return 0;
	}
	const struct ddb_product *p = catalog_find(o->cat, order->sku);
	order->unit_price_cents = p ? p->price_cents : 0;

	switch (scenario_order_rule(o->sc, order, msg, sizeof msg)) {
	case RULE_ACCEPT:
		break;
	case RULE_REJECT: {
		char reason[5 + SCENARIO_REASON_MAX] = "rule:";
		copy_str(reason + 5, sizeof reason - 5, msg);
		metrics_reject(o->m, reason);
		return 0;
	}
	case RULE_ERROR:
		fprintf(stderr, "ddbsim: %s\n", msg);
		metrics_reject(o->m, "rule_error");
		return 0;
	}
	/* The rule may have changed the order: its id, region and time are
	 * the core's. */
	copy_str(order->region, sizeof order->region, region);
	order->placed_at_us = now_us;
	const char *invalid = orders_validate(o->cat, order);
	if (invalid) {
		metrics_reject(o->m, invalid);
		return 0;
	}
	b->arrived_us[b->n++] = now_us;
	return b->n >= o->batch_max;
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

void orders_commit(struct orders *o, size_t r, int64_t now_us)
{
	struct order_batch *b = &o->batches[r];
	if (b->n == 0)
		return;
	struct store *s = &o->w->regions[r];
	struct ddb_err e = { "" };
	enum ddb_status st = store_place_orders(s, b->orders, b->n, b->results, &e);
	if (st == DDB_OK) {
		o->m->group_commits++;
		for (size_t i = 0; i < b->n; i++) {
			if (b->results[i] == DDB_OK) {
				o->m->orders_accepted++;
				hist_add(&o->m->order_latency_us, now_us - b->arrived_us[i]);
			} else {
				metrics_reject(o->m, reason_of(b->results[i]));
			}
		}
	} else {
		/* Nothing of the batch was committed: every order is refused
		 * with the reason, and the customer would retry. */
		if (st == DDB_UNAVAILABLE)
			o->m->unavailable_calls++;
		else
			fprintf(stderr, "ddbsim: region %s: orders refused: %s\n", s->node->name, e.msg);
		for (size_t i = 0; i < b->n; i++)
			metrics_reject(o->m, reason_of(st));
	}
	b->n = 0;
}

size_t orders_waiting(const struct orders *o, size_t r)
{
	return o->batches[r].n;
}
