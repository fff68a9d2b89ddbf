/*
 * orders.h - the order flow of a region: the workload picks a product and
 * quantity, the Lua order rule accepts, rejects or changes the order, the
 * core validates it, and accepted orders wait for the region's next group
 * commit, where each one's stock decrement, order row and outbox event
 * commit together.
 */
#ifndef DDBSIM_ORDERS_H
#define DDBSIM_ORDERS_H

#include <stddef.h>
#include <stdint.h>
#include "ddbsim/plugin.h"

struct world;
struct scenario;
struct catalog;
struct metrics;

#define ORDERS_BATCH_MAX 256

struct order_batch {
	struct ddb_order orders[ORDERS_BATCH_MAX];
	int64_t arrived_us[ORDERS_BATCH_MAX];
	enum ddb_status results[ORDERS_BATCH_MAX];
	void *tags[ORDERS_BATCH_MAX]; /* the submitter's, told the outcome; NULL: none */
	size_t n;
	int64_t next_seq; /* the region's order sequence */
	int in_doubt;     /* the last commit's outcome is unknown: it is retried */
};

/* What became of an arriving order. */
enum { ORDER_REFUSED = 0, ORDER_QUEUED = 1, ORDER_BATCH_FULL = 2 };

struct orders {
	struct world *w;
	struct scenario *sc;
	const struct catalog *cat;
	struct metrics *m;
	struct order_batch *batches; /* one per region */
	size_t n_regions;
	size_t batch_max;
	/* Told the outcome of each submitted order (orders_submit) when its
	 * batch commits: DDB_OK accepted, else rejected with reason. */
	void (*on_result)(void *ctx, void *tag, const struct ddb_order *order, enum ddb_status st,
	                  const char *reason);
	void *on_result_ctx;
};

int orders_init(struct orders *o, struct world *w, struct scenario *sc, const struct catalog *cat,
                struct metrics *m, size_t batch_max);
void orders_free(struct orders *o);

/* One order arrives in region r at now.  The order rule may route it to
 * another region: *to says which batch it joined.  Returns ORDER_REFUSED,
 * ORDER_QUEUED, or ORDER_BATCH_FULL (commit *to now). */
int orders_arrive(struct orders *o, size_t r, int64_t now_us, size_t *to);
/* An order given by a client (serve): sku, quantity, customer, and id
 * (empty: the region's next id) of *req, arriving in region r at now.  It
 * goes through the order rule and the core's validation as orders_arrive's;
 * a refusal returns ORDER_REFUSED with the reason in why ("rule:REASON",
 * "unknown_sku", "unavailable"...).  Once queued, on_result gets tag with
 * its outcome at the commit. */
int orders_submit(struct orders *o, size_t r, const struct ddb_order *req, int64_t now_us,
                  void *tag, size_t *to, char *why, size_t whylen);
/* Commits region r's batch: counts each order accepted or rejected.
 * Returns 1 when the outcome is unknown (the store answered UNAVAILABLE
 * after the call left the fault layer: it may have committed); the batch
 * is kept and must be committed again later, and meanwhile the region
 * refuses new orders.  Retrying is safe: an order already placed comes back
 * DUPLICATE and counts as accepted. */
int orders_commit(struct orders *o, size_t r, int64_t now_us);
size_t orders_waiting(const struct orders *o, size_t r);

/* Checks an order the way the core does before it reaches a store: known
 * sku, quantity >= 1, price >= 0, quantity * price without overflow.
 * Returns NULL when valid, else the reason. */
const char *orders_validate(const struct catalog *cat, const struct ddb_order *order);

#endif
