/*
 * sync.c - the outbox relay and the central and documents appliers (see
 * sync.h for the protocol and why it is exactly once in effect).
 */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "world.h"
#include "util.h"

int sync_init(struct sync *s, struct world *w, struct metrics *m)
{
	memset(s, 0, sizeof *s);
	s->w = w;
	s->m = m;
	size_t regions = w->n_regions ? w->n_regions : 1;
	s->events = calloc(SYNC_BATCH, sizeof *s->events);
	s->deliveries = calloc(SYNC_BATCH, sizeof *s->deliveries);
	s->held_seqs = calloc(regions * SYNC_BATCH, sizeof *s->held_seqs);
	s->held_n = calloc(regions, sizeof *s->held_n);
	s->held_tags = calloc(SYNC_BATCH, sizeof *s->held_tags);
	s->held_lag_us = calloc(SYNC_BATCH, sizeof *s->held_lag_us);
	s->held_after = calloc(regions, sizeof *s->held_after);
	s->orders = calloc(SYNC_BATCH, sizeof *s->orders);
	s->products = calloc(SYNC_BATCH, sizeof *s->products);
	s->marks = calloc(regions, sizeof *s->marks);
	s->requeue_needed = calloc(regions, 1);
	if (!s->requeue_needed || !s->events || !s->deliveries || !s->held_seqs || !s->held_n ||
	    !s->held_after || !s->held_tags || !s->held_lag_us || !s->orders ||
	    !s->products || !s->marks) {
		sync_free(s);
		return -1;
	}
	return 0;
}

void sync_free(struct sync *s)
{
	for (size_t r = 0; s->marks && r < s->w->n_regions; r++)
		free(s->marks[r].seqs);
	free(s->marks);
	free(s->requeue_needed);
	free(s->events);
	free(s->deliveries);
	free(s->held_seqs);
	free(s->held_n);
	free(s->held_tags);
	free(s->held_lag_us);
	free(s->held_after);
	free(s->orders);
	free(s->products);
	memset(s, 0, sizeof *s);
}

static void warn(struct sync *s, const char *what, enum ddb_status st, const struct ddb_err *e)
{
	if (st == DDB_UNAVAILABLE) {
		s->m->unavailable_calls++;
		return;
	}
	if (!s->quiet)
		fprintf(stderr, "ddbsim: sync: %s: %s (%s)\n", what, e->msg, ddb_status_name(st));
}

static size_t relay(struct sync *s, size_t r, int hold);

size_t sync_relay(struct sync *s, size_t r)
{
	if (s->relay_down || s->held_n[r])
		return 0;
	if (s->requeue_needed[r]) {
		struct ddb_err e = { "" };
		s->w->faults.caller = s->w->regions[r].node;
		if (store_outbox_requeue(&s->w->regions[r], &e) != DDB_OK)
			return 0;
		s->requeue_needed[r] = 0;
	}
	if (s->relay_doomed) {
		if (relay(s, r, 0) > 0) { /* it died right after this publish */
			s->relay_doomed = 0;
			s->relay_down = 1;
		}
		return 0;
	}
	return relay(s, r, 1);
}

static size_t relay(struct sync *s, size_t r, int hold)
{
	struct store *region = &s->w->regions[r];
	struct bus *bus = &s->w->bus;
	struct ddb_err e = { "" };
	size_t n = 0;
	s->w->faults.caller = region->node; /* the relay runs at its region */
	enum ddb_status st =
	    store_outbox_read(region, 0, DDB_OUTBOX_NEW, s->events, SYNC_BATCH, &n, &e);
	if (st != DDB_OK) {
		warn(s, "relay: outbox read", st, &e);
		return 0;
	}
	int64_t *seqs = &s->held_seqs[r * SYNC_BATCH];
	uint64_t after = bus_published(bus);
	for (size_t i = 0; i < n; i++) {
		size_t len = wire_encode(&s->events[i], s->wire, sizeof s->wire);
		if (len == 0) {
			fprintf(stderr, "ddbsim: sync: event %s does not fit a message\n", s->events[i].id);
			return 0;
		}
		st = bus_publish(bus, QUEUE_CENTRAL, s->wire, len, &e);
		if (st != DDB_OK) {
			warn(s, "relay: publish", st, &e);
			return 0; /* still NEW: published again next time */
		}
		seqs[i] = s->events[i].seq;
	}
	if (hold) { /* else a crash, right here: published, never marked */
		s->held_n[r] = n;
		s->held_after[r] = after;
	}
	return n;
}

/* Gives deliveries [from, n) back to the queue, to be delivered again. */
static void requeue_all(struct sync *s, const char *queue, size_t from, size_t n)
{
	struct ddb_err e = { "" };
	for (size_t i = from; i < n; i++)
		bus_reject(&s->w->bus, queue, s->deliveries[i].tag, 1, &e);
}

/* Decodes deliveries into s->events; a malformed message is dropped (and
 * counted): it can never be applied.  Returns how many events are usable;
 * their deliveries are moved to the front of s->deliveries. */
static size_t decode_batch(struct sync *s, const char *queue, size_t n)
{
	size_t kept = 0;
	struct ddb_err e = { "" };
	for (size_t i = 0; i < n; i++) {
		struct ddb_delivery *d = &s->deliveries[i];
		if (wire_decode(d->body, d->len, &s->events[kept]) != 0) {
			s->m->poison_messages++;
			if (!s->quiet)
				fprintf(stderr, "ddbsim: sync: dropped a malformed message from %s\n", queue);
			bus_reject(&s->w->bus, queue, d->tag, 0, &e);
			continue;
		}
		if (d->redelivered)
			s->m->redeliveries++;
		s->deliveries[kept++] = *d;
	}
	return kept;
}

/* After a batch was refused as INVALID: applies its events one at a time,
 * drops those the center refuses (they could never be applied, and must not
 * block the queue), and keeps the rest at the front of the arrays.  Returns
 * how many remain, or -1 if a store failed otherwise (all requeued). */
static long apply_singly(struct sync *s, int64_t now_us, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct ddb_err e = { "" };
		enum ddb_status st = store_apply_events(&s->w->central, &s->events[i], 1, now_us, &e);
		if (st == DDB_INVALID) {
			s->m->poison_messages++;
			if (!s->quiet)
				fprintf(stderr, "ddbsim: sync: dropped event %s: %s\n", s->events[i].id, e.msg);
			bus_reject(&s->w->bus, QUEUE_CENTRAL, s->deliveries[i].tag, 0, &e);
			continue;
		}
		if (st != DDB_OK) {
			warn(s, "central applier: apply", st, &e);
			requeue_all(s, QUEUE_CENTRAL, i, n);
			requeue_all(s, QUEUE_CENTRAL, 0, kept);
			return -1;
		}
		s->events[kept] = s->events[i];
		s->deliveries[kept++] = s->deliveries[i];
	}
	return (long)kept;
}

static size_t apply_central(struct sync *s, int64_t now_us, int finish);

size_t sync_apply_central(struct sync *s, int64_t now_us)
{
	if (s->applier_down || s->n_held_tags || now_us < s->central_retry_at)
		return 0;
	if (s->recover_needed) {
		struct ddb_err e = { "" };
		s->w->faults.caller = s->w->central.node;
		if (bus_recover(&s->w->bus, QUEUE_CENTRAL, &e) != DDB_OK)
			return 0;
		s->recover_needed = 0;
	}
	if (s->applier_doomed) {
		if (apply_central(s, now_us, 0) > 0) {
			s->applier_doomed = 0;
			s->applier_down = 1;
		}
		return 0;
	}
	return apply_central(s, now_us, 1);
}

static size_t apply_central(struct sync *s, int64_t now_us, int finish)
{
	struct bus *bus = &s->w->bus;
	struct ddb_err e = { "" };
	size_t n = 0;
	s->w->faults.caller = s->w->central.node; /* the applier runs at the center */
	enum ddb_status st = bus_receive(bus, QUEUE_CENTRAL, s->deliveries, SYNC_BATCH, &n, &e);
	if (st != DDB_OK) {
		warn(s, "central applier: receive", st, &e);
		return 0;
	}
	if (n == 0)
		return 0;
	size_t got = n;
	n = decode_batch(s, QUEUE_CENTRAL, n);
	if (n == 0)
		return got;
	st = store_apply_events(&s->w->central, s->events, n, now_us, &e);
	if (st == DDB_INVALID) {
		long kept = apply_singly(s, now_us, n);
		if (kept < 0) {
			s->central_retry_at = now_us + SYNC_BACKOFF_US;
			return 0;
		}
		n = (size_t)kept;
	} else if (st != DDB_OK) {
		warn(s, "central applier: apply", st, &e);
		requeue_all(s, QUEUE_CENTRAL, 0, n);
		s->central_retry_at = now_us + SYNC_BACKOFF_US;
		return 0;
	}
	if (!finish)
		return got; /* a crash: applied, neither forwarded nor acked */
	/* Forward to the documents store before acking (sync_settle acks once
	 * the forwards are confirmed): if we stop before, the central message
	 * comes back and the forward happens again. */
	s->tags_after = bus_published(bus);
	for (size_t i = 0; i < n; i++) {
		st = bus_publish(bus, QUEUE_DOCUMENTS, s->deliveries[i].body, s->deliveries[i].len, &e);
		if (st != DDB_OK) {
			warn(s, "central applier: forward", st, &e);
			requeue_all(s, QUEUE_CENTRAL, 0, n);
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct ddb_event *ev = &s->events[i];
		s->held_tags[i] = s->deliveries[i].tag;
		/* From placement to the center's commit, counted once acked. */
		s->held_lag_us[i] = ev->kind == DDB_EVENT_ORDER ? now_us - ev->order.placed_at_us : -1;
	}
	s->n_held_tags = n;
	return got;
}

/* The relay's batches: marked PUBLISHED once confirmed. */
static void settle_relay(struct sync *s)
{
	struct world *w = s->w;
	struct bus *bus = &w->bus;
	struct ddb_err e = { "" };
	for (size_t r = 0; r < w->n_regions; r++) {
		if (!s->held_n[r])
			continue;
		w->faults.caller = w->regions[r].node; /* the relay, at its region */
		enum ddb_status st = bus_confirm(bus, s->held_after[r], &e);
		if (st == DDB_OK)
			st = store_outbox_mark(&w->regions[r], &s->held_seqs[r * SYNC_BATCH], s->held_n[r],
			                       DDB_OUTBOX_PUBLISHED, &e);
		/* Not confirmed, or not marked: published again later, and the
		 * center ignores a copy. */
		if (st == DDB_OK)
			s->m->events_relayed += s->held_n[r];
		else
			warn(s, "relay: confirm and mark", st, &e);
		s->held_n[r] = 0;
	}
}

/* The central applier's deliveries: acked once their forwards are
 * confirmed, else given back. */
static void settle_central(struct sync *s)
{
	struct world *w = s->w;
	struct bus *bus = &w->bus;
	struct ddb_err e = { "" };
	if (!s->n_held_tags)
		return;
	w->faults.caller = w->central.node; /* the central applier */
	enum ddb_status st = bus_confirm(bus, s->tags_after, &e);
	if (st != DDB_OK)
		warn(s, "central applier: forward", st, &e);
	for (size_t i = 0; i < s->n_held_tags; i++) {
		struct ddb_err ack_err = { "" };
		if (st != DDB_OK) { /* forwards not confirmed: all of it again */
			if (bus_reject(bus, QUEUE_CENTRAL, s->held_tags[i], 1, &ack_err) != DDB_OK)
				s->recover_needed = 1; /* the broker gives it back later */
			continue;
		}
		/* A copy delivered again after it was applied counts twice: rare
		 * (crashes, duplicates); skipping every redelivered message would
		 * hide the orders that waited out an outage. */
		if (s->held_lag_us[i] >= 0) {
			hist_add(&s->m->sync_lag_us, s->held_lag_us[i]);
			hist_add(&s->m->sync_lag_interval_us, s->held_lag_us[i]);
		}
		enum ddb_status ack = bus_ack(bus, QUEUE_CENTRAL, s->held_tags[i], &ack_err);
		if (ack != DDB_OK) {
			/* Unacked: recovered later, applied again, ignored. */
			warn(s, "central applier: ack", ack, &ack_err);
			s->recover_needed = 1;
		}
	}
	if (st == DDB_OK)
		s->m->events_applied_central += s->n_held_tags;
	s->n_held_tags = 0;
}

void sync_settle(struct sync *s)
{
	settle_relay(s);
	settle_central(s);
}

static int mark_push(struct mark_list *l, int64_t seq)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		int64_t *grown = realloc(l->seqs, cap * sizeof *grown);
		if (!grown)
			return -1;
		l->seqs = grown;
		l->cap = cap;
	}
	l->seqs[l->n++] = seq;
	return 0;
}

void sync_flush_marks(struct sync *s)
{
	s->w->faults.caller = s->w->documents.node; /* the marks come from the documents applier */
	for (size_t r = 0; r < s->w->n_regions; r++) {
		struct mark_list *l = &s->marks[r];
		if (l->n == 0)
			continue;
		struct ddb_err e = { "" };
		enum ddb_status st =
		    store_outbox_mark(&s->w->regions[r], l->seqs, l->n, DDB_OUTBOX_APPLIED, &e);
		if (st == DDB_OK)
			l->n = 0;
		else
			warn(s, "outbox mark applied", st, &e);
	}
}

size_t sync_apply_documents(struct sync *s, int64_t now_us)
{
	if (now_us < s->documents_retry_at)
		return 0;
	struct bus *bus = &s->w->bus;
	struct ddb_err e = { "" };
	size_t n = 0;
	s->w->faults.caller = s->w->documents.node;
	enum ddb_status st = bus_receive(bus, QUEUE_DOCUMENTS, s->deliveries, SYNC_BATCH, &n, &e);
	if (st != DDB_OK) {
		warn(s, "documents applier: receive", st, &e);
		return 0;
	}
	if (n == 0)
		return 0;
	size_t got = n;
	n = decode_batch(s, QUEUE_DOCUMENTS, n);
	if (n == 0)
		return got;
	size_t n_orders = 0, n_products = 0;
	for (size_t i = 0; i < n; i++) {
		if (s->events[i].kind == DDB_EVENT_ORDER)
			s->orders[n_orders++] = s->events[i].order;
		else
			s->products[n_products++] = s->events[i].product;
	}
	st = DDB_OK;
	if (n_orders)
		st = store_put_order_logs(&s->w->documents, s->orders, n_orders, now_us, &e);
	if (st == DDB_OK && n_products)
		st = store_put_components(&s->w->documents, s->products, n_products, &e);
	if (st != DDB_OK) {
		warn(s, "documents applier: put", st, &e);
		requeue_all(s, QUEUE_DOCUMENTS, 0, n);
		s->documents_retry_at = now_us + SYNC_BACKOFF_US;
		return 0;
	}
	/* Both destinations have the event: mark it APPLIED in its region.
	 * A region that is down gets its marks when it is back. */
	for (size_t i = 0; i < n; i++) {
		struct store *origin = world_region(s->w, s->events[i].origin);
		if (origin && mark_push(&s->marks[origin - s->w->regions], s->events[i].seq) != 0) {
			requeue_all(s, QUEUE_DOCUMENTS, i, n);
			n = i;
			break;
		}
	}
	sync_flush_marks(s);
	for (size_t i = 0; i < n; i++) {
		st = bus_ack(bus, QUEUE_DOCUMENTS, s->deliveries[i].tag, &e);
		if (st != DDB_OK)
			warn(s, "documents applier: ack", st, &e);
	}
	s->m->events_applied_documents += n;
	return got;
}

size_t sync_round(struct sync *s, int64_t now_us, int *more)
{
	size_t moved = 0, n;
	*more = 0;
	sync_settle(s); /* what the last round left in flight */
	for (size_t r = 0; r < s->w->n_regions; r++) {
		moved += n = sync_relay(s, r);
		*more |= n == SYNC_BATCH;
	}
	moved += n = sync_apply_central(s, now_us);
	*more |= n == SYNC_BATCH;
	moved += n = sync_apply_documents(s, now_us);
	*more |= n == SYNC_BATCH;
	return moved;
}

void sync_crash_relay(struct sync *s)
{
	if (!s->relay_down)
		s->relay_doomed = 1;
}

void sync_crash_applier(struct sync *s)
{
	if (!s->applier_down)
		s->applier_doomed = 1;
}

void sync_restart_relay(struct sync *s)
{
	/* It does not know what it published last: everything not applied
	 * goes again, region by region as each can be reached. */
	memset(s->requeue_needed, 1, s->w->n_regions);
	s->relay_down = s->relay_doomed = 0;
}

void sync_restart_applier(struct sync *s)
{
	/* What it had taken and not acked comes back, at its next tick. */
	s->recover_needed = 1;
	s->applier_down = s->applier_doomed = 0;
}

int sync_pending(struct sync *s, struct sync_backlog *b)
{
	memset(b, 0, sizeof *b);
	int failed = 0;
	for (size_t r = 0; r < s->w->n_regions; r++) {
		struct store *region = &s->w->regions[r];
		struct ddb_err e = { "" };
		size_t n = 0;
		/* Read directly, not through the fault layer: this observes. */
		if (region->ops->outbox_read(region->h, 0, DDB_OUTBOX_NEW, s->events, 1, &n, &e) != DDB_OK)
			failed = 1;
		b->outbox_new += n;
		n = 0;
		if (region->ops->outbox_read(region->h, 0, DDB_OUTBOX_PUBLISHED, s->events, 1, &n, &e) !=
		    DDB_OK)
			failed = 1;
		b->outbox_published += n;
		b->marks += s->marks[r].n;
		b->in_flight += s->held_n[r];
	}
	b->in_flight += s->n_held_tags;
	struct bus *bus = &s->w->bus;
	uint64_t ready, unacked;
	struct ddb_err e = { "" };
	if (bus->ops->depth(bus->h, QUEUE_CENTRAL, &ready, &unacked, &e) != DDB_OK)
		failed = 1;
	else
		b->central_queue = ready + unacked;
	if (bus->ops->depth(bus->h, QUEUE_DOCUMENTS, &ready, &unacked, &e) != DDB_OK)
		failed = 1;
	else
		b->documents_queue = ready + unacked;
	if (failed)
		return -1;
	return b->outbox_new || b->outbox_published || b->central_queue || b->documents_queue ||
	       b->marks || b->in_flight;
}
