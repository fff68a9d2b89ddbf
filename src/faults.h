/*
 * faults.h - the fault layer: every call from the domain to a plugin goes
 * through here, so that every fault works with every backend.
 *
 *   down        a call to the node returns DDB_UNAVAILABLE, unsent;
 *   slow        the call goes through, and its latency is added to the
 *               layer's clock debt, which the engine turns into delay;
 *   partition   a call from a node that cannot reach the target is refused;
 *               a call whose target cannot reach the caller back takes
 *               effect but answers DDB_UNAVAILABLE (the reply is lost);
 *   messages    drop (a delivery is lost and redelivered later), duplicate
 *               (a publish goes twice), delay (a publish arrives later),
 *               reorder (a received batch is shuffled), each with a
 *               probability, drawn from the run's PRNG.
 *
 * struct store is one storage node (a plugin instance serving some roles);
 * struct bus is the transport.  Checks and the state hash read the stores
 * directly (they observe the system; they are not part of it).
 */
#ifndef DDBSIM_FAULTS_H
#define DDBSIM_FAULTS_H

#include "ddbsim/plugin.h"
#include "node.h"

struct plugin;
struct prng;

struct delayed_message {
	int64_t at_us;
	char queue[DDB_ID_MAX];
	unsigned char *body;
	size_t len;
};

struct fault_layer {
	struct node_table *nodes;
	struct node *caller; /* whose calls these are now; NULL: the clients */
	struct prng *rng;    /* NULL: no message faults */
	int64_t now_us;
	double p_drop, p_duplicate, p_delay, p_reorder;
	int64_t delay_us;
	int64_t latency_us;  /* owed by calls to slow nodes; the engine collects it */
	struct delayed_message *delayed;
	size_t n_delayed, cap_delayed;
	/* what it did */
	uint64_t refused_down, refused_cut, replies_lost;
	uint64_t store_unavailable; /* calls that reached a plugin and got UNAVAILABLE */
	uint64_t dropped, duplicated, delayed_count, reordered;
};

struct store {
	struct node *node;
	struct plugin *plugin;
	const struct ddb_storage_ops *ops;
	void *h;
	struct fault_layer *fl;
};

struct bus {
	struct node *node;
	struct plugin *plugin;
	const struct ddb_transport_ops *ops;
	void *h;
	int durable;
	struct fault_layer *fl;
	/* Publishes the plugin took, those a confirm answered for, and the
	 * last one a failed confirm answered for (see bus_confirm). */
	uint64_t published, confirmed_through, failed_through;
	char failure[DDB_ERR_MAX];
};

void faults_free(struct fault_layer *fl);
/* Publishes the delayed messages that are due (all of them with
 * everything = 1).  Returns how many. */
size_t faults_release(struct fault_layer *fl, struct bus *b, int everything);
/* Takes the latency owed by calls to slow nodes since the last call. */
int64_t faults_take_latency(struct fault_layer *fl);

enum ddb_status store_upsert_product(struct store *s, const struct ddb_product *p, int64_t now_us,
                                     struct ddb_err *err);
enum ddb_status store_restock(struct store *s, const char *sku, int64_t quantity,
                              struct ddb_err *err);
enum ddb_status store_place_orders(struct store *s, const struct ddb_order *orders, size_t n,
                                   enum ddb_status *results, struct ddb_err *err);
enum ddb_status store_outbox_read(struct store *s, int64_t after_seq, int want_state,
                                  struct ddb_event *events, size_t max, size_t *n_out,
                                  struct ddb_err *err);
enum ddb_status store_outbox_mark(struct store *s, const int64_t *seqs, size_t n, int state,
                                  struct ddb_err *err);
enum ddb_status store_outbox_requeue(struct store *s, struct ddb_err *err);
enum ddb_status store_put_customers(struct store *s, const struct ddb_customer *c, size_t n,
                                    enum ddb_status *results, struct ddb_err *err);
enum ddb_status store_get_customer(struct store *s, const char *id, struct ddb_customer *out,
                                   struct ddb_err *err);
enum ddb_status store_find_customers(struct store *s, const struct ddb_customer_filter *f,
                                     void (*emit)(void *ctx, const struct ddb_customer *c),
                                     void *ctx, struct ddb_err *err);
enum ddb_status store_apply_events(struct store *s, const struct ddb_event *events, size_t n,
                                   int64_t now_us, struct ddb_err *err);
enum ddb_status store_put_order_logs(struct store *s, const struct ddb_order *orders, size_t n,
                                     int64_t now_us, struct ddb_err *err);
enum ddb_status store_put_components(struct store *s, const struct ddb_product *products,
                                     size_t n, struct ddb_err *err);
/* Opens a scan of a store directly, past the fault layer (the checks and
 * the state hash observe; they are not part of the system), giving a
 * server that is restarting up to 10 s to answer. */
enum ddb_status store_scan_observed(struct store *s, int dataset, const char *region, void **cur,
                                    struct ddb_err *err);

enum ddb_status bus_publish(struct bus *b, const char *queue, const void *body, size_t len,
                            struct ddb_err *err);
/* The number of the last publish the plugin took (they count from 1). */
uint64_t bus_published(const struct bus *b);
/* Whether the broker took every publish after number `after`, as the caller
 * (fl->caller) hears it: UNAVAILABLE when it did not, or may not have.
 * Waits for the plugin's confirm only if something published so far has
 * not been answered yet.  A confirm of the plugin answers for everything it
 * took before, whoever asks, so the bus remembers the last failure: each
 * publisher learns the outcome of its own publishes however the confirms
 * of several publishers interleave (conservatively: a failure answers
 * every span that began before it). */
enum ddb_status bus_confirm(struct bus *b, uint64_t after, struct ddb_err *err);
enum ddb_status bus_receive(struct bus *b, const char *queue, struct ddb_delivery *out,
                            size_t max, size_t *n_out, struct ddb_err *err);
enum ddb_status bus_ack(struct bus *b, const char *queue, uint64_t tag, struct ddb_err *err);
enum ddb_status bus_reject(struct bus *b, const char *queue, uint64_t tag, int requeue,
                           struct ddb_err *err);
enum ddb_status bus_recover(struct bus *b, const char *queue, struct ddb_err *err);
enum ddb_status bus_declare(struct bus *b, const char *queue, struct ddb_err *err);
enum ddb_status bus_depth(struct bus *b, const char *queue, uint64_t *ready, uint64_t *unacked,
                          struct ddb_err *err);

#endif
