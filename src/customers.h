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
#include "id_map.h"
#include "queued_writes.h"
#include "wire.h"

struct world;
struct scenario;
struct metrics;
struct customer_request;

#define CUSTOMER_REPLICAS_MAX 8

/* What became of one copy of a write (the decision table). */
enum customer_copy_fate {
	CUSTOMER_WRITTEN = 1, /* the copy's region took it */
	CUSTOMER_QUEUED,      /* it waits in the region's node queue */
	CUSTOMER_HELD         /* the broker could not take it either: held in memory, retried */
};

/* What the run knows of a customer: its latest record and where it lives. */
struct customer_entry {
	struct ddb_customer latest;
	uint8_t home;
	uint8_t n_replicas;
	uint8_t replicas[CUSTOMER_REPLICAS_MAX];
	/* The create: what became of the home's copy ([0]) and each replica's
	 * (enum customer_copy_fate). */
	uint8_t created[1 + CUSTOMER_REPLICAS_MAX];
};

/* What customers_create did: accepted (entry says where the record went),
 * or rejected with reason (exists, rule:REASON, rule_error, out_of_memory). */
struct customer_outcome {
	int accepted;
	char reason[160];
	const struct customer_entry *entry; /* accepted: owned by the customers */
};

/* What customers_get read: which copy answered and what it holds. */
struct customer_read {
	int answered;    /* 0: no copy answered (all down) */
	size_t region;   /* the copy that answered */
	int replica;     /* 1: a replica answered, the home did not */
	int has_record;  /* the copy holds it (0: its write has not reached it) */
	int stale;       /* the copy is behind the latest version, or lacks it */
	struct ddb_customer c; /* has_record: the copy's record */
};

/* customers_search: how each home region was read. */
struct customer_region_read {
	int home_answered;  /* the region itself answered for its records */
	uint64_t answered;  /* else: bit k, region k answered for them */
};
/* A record of home region `home` that region served_by returned. */
typedef void (*customer_row_fn)(void *ctx, size_t home, size_t served_by,
                                const struct ddb_customer *c);

struct held_write {
	size_t region;
	struct ddb_customer c;
};

struct customers {
	struct world *w;
	struct scenario *sc;
	struct metrics *m;
	struct id_map entries; /* struct customer_entry by id */
	struct held_write *held; /* not even queued (the broker was down): retried */
	size_t n_held, cap_held;
	int64_t *back_since;     /* per region: up again with writes to replay, or -1 */
	size_t *conv_index;      /* per region: its open entry in metrics convergences */
	struct ddb_delivery *deliveries;
	struct ddb_customer *batch;
	enum ddb_status *results;
	unsigned char wire[WIRE_MAX];
	struct queued_writes journal; /* which writes were queued, for later checks */
	uint64_t *replica_regions; /* per home region: bit k, region k holds copies */
	uint64_t homes;            /* bit r: some customer's home is region r */
	struct customer_region_read *reads; /* find's scratch, per region */
};

int customers_init(struct customers *cs, struct world *w, struct scenario *sc, struct metrics *m);
void customers_free(struct customers *cs);

/* One operation of the customer workload, at now. */
void customers_operate(struct customers *cs, int64_t now_us);
/* Creates c (id, unique_id, zip_prefix, city, state, name, email) at
 * now, through the rules (home, replicas) and the decision table; out
 * says what became of it.  0 accepted, -1 rejected (counted as the
 * workload's rejections are). */
int customers_create(struct customers *cs, const struct ddb_customer *c, int64_t now_us,
                     struct customer_outcome *out);
/* Reads id from its home, or from a replica when the home is down: the
 * run's entry (NULL: unknown id) and what the copy said in *out. */
const struct customer_entry *customers_get(struct customers *cs, const char *id,
                                           struct customer_read *out);
/* Searches every region: each answers for the records whose home it is;
 * for a region that does not answer, every other region answers with its
 * copies of them.  fn sees every row (the same record may come from two
 * replicas); reads[r] (n_regions of them) says how region r was read. */
void customers_search(struct customers *cs, const struct ddb_customer_filter *f,
                      customer_row_fn fn, void *ctx, struct customer_region_read *reads);
/* Whether home region r was read by reads: it answered, or one of the
 * regions that hold copies of its records did, or it is no one's home. */
int customers_region_read(const struct customers *cs, size_t r,
                          const struct customer_region_read *reads);
/* "ok" (the home took the create), "home_pending" (only a replica did) or
 * "unavailable" (no copy took it: accepted, pending in the queues). */
const char *customers_create_result(const struct customer_entry *e);

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
