/*
 * customers.h - customer records across regions: each record lives on its
 * home region and on its replicas (chosen by the scenario's rules), and
 * every write follows the decision table:
 *
 *   home up,   replica up    write both
 *   home up,   replica down  write home, queue for the replica
 *   home down, replica up    queue for home, write the replica
 *   home down, replica down  queue for both; answer "unavailable" (the
 *                            write is accepted and pending, never lost)
 *
 * One queue per node (node.NAME) on the transport holds its writes while
 * it is down; when it is back they are replayed into it, in order and
 * idempotently (the higher version wins), while new writes keep arriving.
 * Reads go to the home, or to a replica when the home is down.
 */
#ifndef DDBSIM_CUSTOMERS_H
#define DDBSIM_CUSTOMERS_H

#include <stddef.h>
#include <stdint.h>
#include "ddbsim/plugin.h"
#include "queued_writes.h"
#include "wire.h"

struct world;
struct scenario;
struct metrics;
struct customer_request;

#define CUSTOMER_REPLICAS_MAX 8

/* What the run knows of a customer: its latest record and where it lives. */
struct customer_entry {
	struct ddb_customer latest;
	uint8_t home;
	uint8_t n_replicas;
	uint8_t replicas[CUSTOMER_REPLICAS_MAX];
};

struct held_write {
	size_t region;
	struct ddb_customer c;
};

struct customers {
	struct world *w;
	struct scenario *sc;
	struct metrics *m;
	struct customer_entry **slots; /* open addressing by id */
	size_t cap, n;
	struct held_write *held; /* not even queued (the broker was down): retried */
	size_t n_held, cap_held;
	int64_t *back_since;     /* per region: up again with writes to replay, or -1 */
	size_t *conv_index;      /* per region: its open entry in metrics convergences */
	struct ddb_delivery *deliveries;
	struct ddb_customer *batch;
	enum ddb_status *results;
	unsigned char wire[WIRE_MAX];
	struct queued_writes journal; /* which writes were queued, for later checks */
};

int customers_init(struct customers *cs, struct world *w, struct scenario *sc, struct metrics *m);
void customers_free(struct customers *cs);

/* One operation of the customer workload, at now. */
void customers_operate(struct customers *cs, int64_t now_us);
/* Applies a request (create, update, delete, get, find). */
void customers_apply(struct customers *cs, const struct customer_request *req, int64_t now_us);

/* Replays up to a batch of node.NAME into region r if it is up; writes the
 * held writes that can now be queued.  Returns how many were replayed. */
size_t customers_replay(struct customers *cs, size_t r, int64_t now_us);
/* Offers the broker again the writes it could not take (held in memory, as
 * clients would); those it still refuses stay held.  An interrupted run
 * calls it last, so that drain finds them in the node queues. */
void customers_retry_held(struct customers *cs);
/* The engine saw region r change state. */
void customers_node_changed(struct customers *cs, size_t r, int up, int64_t now_us);
/* Writes waiting: in node queues (sum of depths) and held in memory. */
int customers_pending(struct customers *cs, uint64_t *queued, uint64_t *held);

/* The run's latest record of id, or NULL. */
const struct customer_entry *customers_find(const struct customers *cs, const char *id);
/* Iterates the known customers: calls fn for each (in no given order). */
void customers_each(const struct customers *cs, void (*fn)(void *ctx, const struct customer_entry *e),
                    void *ctx);

#endif
