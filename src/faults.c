/*
 * faults.c - the fault layer between the domain and the plugins.  Today it
 * applies node availability; message faults (drop, duplicate, delay,
 * reorder) and partitions belong here too.
 */
#include "faults.h"

#include <stdio.h>

/* DDB_UNAVAILABLE, without calling the plugin, when the node is down. */
static int refuse_if_down(struct node *n, struct ddb_err *err)
{
	if (n->state == NODE_UP)
		return 0;
	n->refused++;
	snprintf(err->msg, sizeof err->msg, "node %s is %s", n->name, node_state_name(n->state));
	return 1;
}

#define GUARD(node)                                                                       \
	do {                                                                              \
		if (refuse_if_down((node), err))                                          \
			return DDB_UNAVAILABLE;                                           \
	} while (0)

enum ddb_status store_upsert_product(struct store *s, const struct ddb_product *p, int64_t now_us,
                                     struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->upsert_product(s->h, p, now_us, err);
}

enum ddb_status store_restock(struct store *s, const char *sku, int64_t quantity,
                              struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->restock(s->h, sku, quantity, err);
}

enum ddb_status store_place_orders(struct store *s, const struct ddb_order *orders, size_t n,
                                   enum ddb_status *results, struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->place_orders(s->h, orders, n, results, err);
}

enum ddb_status store_outbox_read(struct store *s, int64_t after_seq, int want_state,
                                  struct ddb_event *events, size_t max, size_t *n_out,
                                  struct ddb_err *err)
{
	*n_out = 0;
	GUARD(s->node);
	return s->ops->outbox_read(s->h, after_seq, want_state, events, max, n_out, err);
}

enum ddb_status store_outbox_mark(struct store *s, const int64_t *seqs, size_t n, int state,
                                  struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->outbox_mark(s->h, seqs, n, state, err);
}

enum ddb_status store_outbox_requeue(struct store *s, struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->outbox_requeue(s->h, err);
}

enum ddb_status store_apply_events(struct store *s, const struct ddb_event *events, size_t n,
                                   int64_t now_us, struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->apply_events(s->h, events, n, now_us, err);
}

enum ddb_status store_put_order_logs(struct store *s, const struct ddb_order *orders, size_t n,
                                     int64_t now_us, struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->put_order_logs(s->h, orders, n, now_us, err);
}

enum ddb_status store_put_components(struct store *s, const struct ddb_product *products,
                                     size_t n, struct ddb_err *err)
{
	GUARD(s->node);
	return s->ops->put_components(s->h, products, n, err);
}

enum ddb_status bus_publish(struct bus *b, const char *queue, const void *body, size_t len,
                            struct ddb_err *err)
{
	GUARD(b->node);
	return b->ops->publish(b->h, queue, body, len, err);
}

enum ddb_status bus_confirm(struct bus *b, struct ddb_err *err)
{
	GUARD(b->node);
	return b->ops->confirm(b->h, err);
}

enum ddb_status bus_receive(struct bus *b, const char *queue, struct ddb_delivery *out,
                            size_t max, size_t *n_out, struct ddb_err *err)
{
	*n_out = 0;
	GUARD(b->node);
	return b->ops->receive(b->h, queue, out, max, n_out, err);
}

enum ddb_status bus_ack(struct bus *b, const char *queue, uint64_t tag, struct ddb_err *err)
{
	GUARD(b->node);
	return b->ops->ack(b->h, queue, tag, err);
}

enum ddb_status bus_reject(struct bus *b, const char *queue, uint64_t tag, int requeue,
                           struct ddb_err *err)
{
	GUARD(b->node);
	return b->ops->reject(b->h, queue, tag, requeue, err);
}

enum ddb_status bus_recover(struct bus *b, const char *queue, struct ddb_err *err)
{
	GUARD(b->node);
	return b->ops->recover(b->h, queue, err);
}

enum ddb_status bus_depth(struct bus *b, const char *queue, uint64_t *ready, uint64_t *unacked,
                          struct ddb_err *err)
{
	*ready = *unacked = 0;
	GUARD(b->node);
	return b->ops->depth(b->h, queue, ready, unacked, err);
}
