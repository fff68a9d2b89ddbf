/*
 * faults.c - the fault layer between the domain and the plugins (see
 * faults.h for what each fault does).
 */
#include "faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prng.h"
#include "util.h"

/* ---- admission ----------------------------------------------------------- */

/* 0 when the call may go to `target`; else DDB_UNAVAILABLE with a message.
 * *reply_lost: the target cannot answer the caller. */
static enum ddb_status admit(struct fault_layer *fl, struct node *target, int *reply_lost,
                             struct ddb_err *err)
{
	*reply_lost = 0;
	if (!fl)
		return DDB_OK;
	if (target->state == NODE_DOWN) {
		target->refused++;
		fl->refused_down++;
		snprintf(err->msg, sizeof err->msg, "node %s is down", target->name);
		return DDB_UNAVAILABLE;
	}
	if (!node_reaches(fl->nodes, fl->caller, target)) {
		target->refused++;
		fl->refused_cut++;
		snprintf(err->msg, sizeof err->msg, "%s cannot reach %s (partition)", fl->caller->name,
		         target->name);
		return DDB_UNAVAILABLE;
	}
	if (target->state == NODE_SLOW) {
		int64_t jitter = target->jitter_us > 0 && fl->rng
		                     ? prng_range(fl->rng, 0, target->jitter_us) : 0;
		fl->latency_us += target->latency_us + jitter;
	}
	*reply_lost = fl->caller && !node_reaches(fl->nodes, target, fl->caller);
	return DDB_OK;
}

/* The call took effect, but its answer is lost on the way back. */
static enum ddb_status lose_reply(struct fault_layer *fl, struct node *target,
                                  enum ddb_status st, struct ddb_err *err)
{
	fl->replies_lost++;
	snprintf(err->msg, sizeof err->msg, "no answer from %s (partition; the call was %s)",
	         target->name, ddb_status_name(st));
	return DDB_UNAVAILABLE;
}

#define CALL(node, call)                                                                   \
	do {                                                                               \
		int lost_;                                                                 \
		enum ddb_status st_ = admit(fl, (node), &lost_, err);                      \
		if (st_ != DDB_OK)                                                         \
			return st_;                                                        \
		st_ = (call);                                                              \
		if (st_ == DDB_UNAVAILABLE && fl)                                          \
			fl->store_unavailable++;                                           \
		return lost_ ? lose_reply(fl, (node), st_, err) : st_;                     \
	} while (0)

/* ---- stores -------------------------------------------------------------- */

enum ddb_status store_upsert_product(struct store *s, const struct ddb_product *p, int64_t now_us,
                                     struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->upsert_product(s->h, p, now_us, err));
}

enum ddb_status store_restock(struct store *s, const char *sku, int64_t quantity,
                              struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->restock(s->h, sku, quantity, err));
}

enum ddb_status store_place_orders(struct store *s, const struct ddb_order *orders, size_t n,
                                   enum ddb_status *results, struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->place_orders(s->h, orders, n, results, err));
}

enum ddb_status store_outbox_read(struct store *s, int64_t after_seq, int want_state,
                                  struct ddb_event *events, size_t max, size_t *n_out,
                                  struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	*n_out = 0;
	int lost;
	enum ddb_status st = admit(fl, s->node, &lost, err);
	if (st != DDB_OK)
		return st;
	st = s->ops->outbox_read(s->h, after_seq, want_state, events, max, n_out, err);
	if (st == DDB_UNAVAILABLE && fl)
		fl->store_unavailable++;
	if (lost) {
		*n_out = 0;
		return lose_reply(fl, s->node, st, err);
	}
	return st;
}

enum ddb_status store_outbox_mark(struct store *s, const int64_t *seqs, size_t n, int state,
                                  struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->outbox_mark(s->h, seqs, n, state, err));
}

enum ddb_status store_outbox_requeue(struct store *s, struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->outbox_requeue(s->h, err));
}

enum ddb_status store_put_customers(struct store *s, const struct ddb_customer *c, size_t n,
                                    enum ddb_status *results, struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->put_customers(s->h, c, n, results, err));
}

enum ddb_status store_get_customer(struct store *s, const char *id, struct ddb_customer *out,
                                   struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->get_customer(s->h, id, out, err));
}

enum ddb_status store_find_customers(struct store *s, const struct ddb_customer_filter *f,
                                     void (*emit)(void *ctx, const struct ddb_customer *c),
                                     void *ctx, struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	int lost;
	enum ddb_status st = admit(fl, s->node, &lost, err);
	if (st != DDB_OK)
		return st;
	if (lost)
		return lose_reply(fl, s->node, DDB_OK, err); /* a read: nothing happened */
	st = s->ops->find_customers(s->h, f, emit, ctx, err);
	if (st == DDB_UNAVAILABLE && fl)
		fl->store_unavailable++;
	return st;
}

enum ddb_status store_apply_events(struct store *s, const struct ddb_event *events, size_t n,
                                   int64_t now_us, struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->apply_events(s->h, events, n, now_us, err));
}

enum ddb_status store_put_order_logs(struct store *s, const struct ddb_order *orders, size_t n,
                                     int64_t now_us, struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->put_order_logs(s->h, orders, n, now_us, err));
}

enum ddb_status store_put_components(struct store *s, const struct ddb_product *products,
                                     size_t n, struct ddb_err *err)
{
	struct fault_layer *fl = s->fl;
	CALL(s->node, s->ops->put_components(s->h, products, n, err));
}

/* ---- observation, past the fault layer (checks, state hash) ------------- */

enum ddb_status store_scan_observed(struct store *s, int dataset, const char *region, void **cur,
                                    struct ddb_err *err)
{
	enum ddb_status st;
	for (int tries = 0; (st = s->ops->scan_open(s->h, dataset, region, cur, err)) ==
	                            DDB_UNAVAILABLE && tries < 100; tries++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 }; /* 100 x 100 ms */
		nanosleep(&ts, NULL);
	}
	return st;
}

/* ---- the transport -------------------------------------------------------- */

static int draw(struct fault_layer *fl, double p)
{
	return fl && fl->rng && p > 0 && prng_double(fl->rng) < p;
}

static int hold_back(struct fault_layer *fl, const char *queue, const void *body, size_t len)
{
	if (fl->n_delayed == fl->cap_delayed) {
		size_t cap = fl->cap_delayed ? fl->cap_delayed * 2 : 64;
		struct delayed_message *grown = realloc(fl->delayed, cap * sizeof *grown);
		if (!grown)
			return -1;
		fl->delayed = grown;
		fl->cap_delayed = cap;
	}
	struct delayed_message *d = &fl->delayed[fl->n_delayed];
	d->body = malloc(len ? len : 1);
	if (!d->body)
		return -1;
	memcpy(d->body, body, len);
	d->len = len;
	d->at_us = fl->now_us + fl->delay_us;
	copy_str(d->queue, sizeof d->queue, queue);
	fl->n_delayed++;
	fl->delayed_count++;
	return 0;
}

enum ddb_status bus_publish(struct bus *b, const char *queue, const void *body, size_t len,
                            struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	int lost;
	enum ddb_status st = admit(fl, b->node, &lost, err);
	if (st != DDB_OK)
		return st;
	/* A delayed message is on its way: the publisher is told it went. */
	if (draw(fl, fl ? fl->p_delay : 0) && hold_back(fl, queue, body, len) == 0)
		return lost ? lose_reply(fl, b->node, DDB_OK, err) : DDB_OK;
	st = b->ops->publish(b->h, queue, body, len, err);
	if (st == DDB_OK)
		b->published++;
	if (st == DDB_OK && draw(fl, fl ? fl->p_duplicate : 0)) {
		fl->duplicated++;
		st = b->ops->publish(b->h, queue, body, len, err);
		if (st == DDB_OK)
			b->published++;
	}
	return lost ? lose_reply(fl, b->node, st, err) : st;
}

uint64_t bus_published(const struct bus *b)
{
	return b->published;
}

/* Asks the plugin to confirm everything it took so far, if anything is
 * unanswered, and remembers a failure for every publisher it concerns.
 * Every plugin confirm goes through here. */
static void confirm_published(struct bus *b, struct ddb_err *err)
{
	if (b->confirmed_through == b->published)
		return;
	uint64_t through = b->published;
	enum ddb_status st = b->ops->confirm(b->h, err);
	if (st == DDB_UNAVAILABLE && b->fl)
		b->fl->store_unavailable++;
	if (st != DDB_OK) {
		b->failed_through = through;
		snprintf(b->failure, sizeof b->failure, "%s", err->msg);
	}
	b->confirmed_through = through;
}

enum ddb_status bus_confirm(struct bus *b, uint64_t after, struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	int lost;
	enum ddb_status st = admit(fl, b->node, &lost, err);
	if (st != DDB_OK)
		return st;
	confirm_published(b, err);
	st = DDB_OK;
	if (b->failed_through > after) {
		snprintf(err->msg, sizeof err->msg, "%s", b->failure);
		st = DDB_UNAVAILABLE;
	}
	return lost ? lose_reply(fl, b->node, st, err) : st;
}

/* Shuffles deliveries (Fisher-Yates, from the run's PRNG). */
static void shuffle(struct fault_layer *fl, struct ddb_delivery *d, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)prng_range(fl->rng, 0, (int64_t)i - 1);
		struct ddb_delivery t = d[i - 1];
		d[i - 1] = d[j];
		d[j] = t;
	}
}

enum ddb_status bus_receive(struct bus *b, const char *queue, struct ddb_delivery *out,
                            size_t max, size_t *n_out, struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	*n_out = 0;
	int lost;
	enum ddb_status st = admit(fl, b->node, &lost, err);
	if (st != DDB_OK)
		return st;
	st = b->ops->receive(b->h, queue, out, max, n_out, err);
	if (st != DDB_OK || !fl)
		return st;
	struct ddb_err e = { "" };
	if (lost) {
		/* Delivered, but never reaches the consumer: back it goes. */
		for (size_t i = 0; i < *n_out; i++)
			b->ops->reject(b->h, queue, out[i].tag, 1, &e);
		*n_out = 0;
		return lose_reply(fl, b->node, st, err);
	}
	size_t kept = 0;
	for (size_t i = 0; i < *n_out; i++) {
		if (draw(fl, fl->p_drop)) {
			fl->dropped++;
			b->ops->reject(b->h, queue, out[i].tag, 1, &e);
			continue;
		}
		out[kept++] = out[i];
	}
	*n_out = kept;
	if (kept > 1 && draw(fl, fl->p_reorder)) {
		fl->reordered++;
		shuffle(fl, out, kept);
	}
	return DDB_OK;
}

enum ddb_status bus_ack(struct bus *b, const char *queue, uint64_t tag, struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	CALL(b->node, b->ops->ack(b->h, queue, tag, err));
}

enum ddb_status bus_reject(struct bus *b, const char *queue, uint64_t tag, int requeue,
                           struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	CALL(b->node, b->ops->reject(b->h, queue, tag, requeue, err));
}

enum ddb_status bus_recover(struct bus *b, const char *queue, struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	CALL(b->node, b->ops->recover(b->h, queue, err));
}

enum ddb_status bus_declare(struct bus *b, const char *queue, struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	CALL(b->node, b->ops->declare(b->h, queue, err));
}

enum ddb_status bus_depth(struct bus *b, const char *queue, uint64_t *ready, uint64_t *unacked,
                          struct ddb_err *err)
{
	struct fault_layer *fl = b->fl;
	*ready = *unacked = 0;
	int lost;
	enum ddb_status st = admit(fl, b->node, &lost, err);
	if (st != DDB_OK)
		return st;
	st = b->ops->depth(b->h, queue, ready, unacked, err);
	return lost ? lose_reply(fl, b->node, st, err) : st;
}

/* ---- delayed messages and latency ----------------------------------------- */

size_t faults_release(struct fault_layer *fl, struct bus *b, int everything)
{
	size_t sent = 0, kept = 0;
	struct ddb_err e = { "" };
	for (size_t i = 0; i < fl->n_delayed; i++) {
		struct delayed_message *d = &fl->delayed[i];
		int due = everything || d->at_us <= fl->now_us;
		/* Straight to the plugin: the fault was already applied. */
		if (due && b->node->state != NODE_DOWN &&
		    b->ops->publish(b->h, d->queue, d->body, d->len, &e) == DDB_OK) {
			free(d->body);
			b->published++;
			sent++;
			continue;
		}
		fl->delayed[kept++] = *d;
	}
	fl->n_delayed = kept;
	/* Their publishers were told long ago; a failure still reaches the
	 * publishers whose messages are in flight with them. */
	confirm_published(b, &e);
	return sent;
}

int64_t faults_take_latency(struct fault_layer *fl)
{
	int64_t l = fl->latency_us;
	fl->latency_us = 0;
	return l;
}

void faults_free(struct fault_layer *fl)
{
	for (size_t i = 0; i < fl->n_delayed; i++)
		free(fl->delayed[i].body);
	free(fl->delayed);
	fl->delayed = NULL;
	fl->n_delayed = fl->cap_delayed = 0;
}
