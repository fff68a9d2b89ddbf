/*
 * faults.h - the fault layer: every call from the domain to a plugin goes
 * through here.  A call to a node that is down returns DDB_UNAVAILABLE
 * without reaching the plugin, so every fault works with every backend.
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

struct store {
	struct node *node;
	struct plugin *plugin;
	const struct ddb_storage_ops *ops;
	void *h;
};

struct bus {
	struct node *node;
	struct plugin *plugin;
	const struct ddb_transport_ops *ops;
	void *h;
	int durable;
};

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
enum ddb_status store_apply_events(struct store *s, const struct ddb_event *events, size_t n,
                                   int64_t now_us, struct ddb_err *err);
enum ddb_status store_put_order_logs(struct store *s, const struct ddb_order *orders, size_t n,
                                     int64_t now_us, struct ddb_err *err);
enum ddb_status store_put_components(struct store *s, const struct ddb_product *products,
                                     size_t n, struct ddb_err *err);

enum ddb_status bus_publish(struct bus *b, const char *queue, const void *body, size_t len,
                            struct ddb_err *err);
enum ddb_status bus_confirm(struct bus *b, struct ddb_err *err);
enum ddb_status bus_receive(struct bus *b, const char *queue, struct ddb_delivery *out,
                            size_t max, size_t *n_out, struct ddb_err *err);
enum ddb_status bus_ack(struct bus *b, const char *queue, uint64_t tag, struct ddb_err *err);
enum ddb_status bus_reject(struct bus *b, const char *queue, uint64_t tag, int requeue,
                           struct ddb_err *err);
enum ddb_status bus_recover(struct bus *b, const char *queue, struct ddb_err *err);
enum ddb_status bus_depth(struct bus *b, const char *queue, uint64_t *ready, uint64_t *unacked,
                          struct ddb_err *err);

#endif
