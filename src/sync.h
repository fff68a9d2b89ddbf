/*
 * sync.h - how an order becomes a central row: the outbox relay and the
 * appliers.
 *
 *   region outbox --relay--> queue sync.central --central applier--> central
 *   store, then queue sync.documents --documents applier--> documents store,
 *   and the event is marked APPLIED in its region's outbox.
 *
 * Every step is at least once and every apply is idempotent, so the effect
 * is exactly once: the relay marks an event PUBLISHED only after the
 * transport confirmed it; the central applier acks only after its commit
 * and after its forward to the documents queue was confirmed; the documents
 * applier marks the event APPLIED after its own commit.  An event that is
 * not APPLIED is published again after a restart (sync_restart_relay).
 *
 * A round (sync_round) first settles what the round before left in flight
 * (sync_settle: one wait for the broker's confirms, for the relay and the
 * central applier together), then moves one batch through each step and
 * leaves its publishes in flight: the broker stores and confirms them while
 * the appliers write to their databases and the engine places the next
 * orders, so that neither side waits for the other.  Until settled, the
 * relay holds its batch's seqs (still NEW in the outbox) and the central
 * applier its deliveries (unacked); sync_pending counts them.  The
 * transport must let a round's publishes wait for their confirms at once
 * (the rabbitmq plugin's confirm_window) and deliver the next batch while
 * one is held (its prefetch).
 */
#ifndef DDBSIM_SYNC_H
#define DDBSIM_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include "ddbsim/plugin.h"
#include "wire.h"

struct world;
struct metrics;

#define SYNC_BATCH 2048
/* After an applier's store refused a batch, it waits this long. */
#define SYNC_BACKOFF_US (100 * 1000)

/* What sync_pending() found; outbox counts are capped at one batch. */
struct sync_backlog {
	uint64_t outbox_new, outbox_published, central_queue, documents_queue, marks;
	uint64_t in_flight; /* published, not yet settled (sync_settle) */
};

struct mark_list {
	int64_t *seqs;
	size_t n, cap;
};

struct sync {
	struct world *w;
	struct metrics *m;
	struct ddb_event *events;      /* SYNC_BATCH */
	struct ddb_delivery *deliveries; /* SYNC_BATCH */
	/* In flight until sync_settle: per region r, the seqs
	 * held_seqs[r * SYNC_BATCH ...] (held_n[r] of them) to mark PUBLISHED
	 * once the publishes after bus number held_after[r] are confirmed; the
	 * central applier's deliveries to ack once its forwards (after
	 * tags_after) are, with each order's sync lag (-1: a product). */
	int64_t *held_seqs;
	size_t *held_n;
	uint64_t *held_after;
	uint64_t *held_tags;           /* SYNC_BATCH */
	int64_t *held_lag_us;       /* SYNC_BATCH */
	size_t n_held_tags;
	uint64_t tags_after;
	struct ddb_order *orders;      /* SYNC_BATCH */
	struct ddb_product *products;  /* SYNC_BATCH */
	struct mark_list *marks;       /* per region: APPLIED marks not yet written */
	unsigned char wire[WIRE_MAX];
	int quiet;
	unsigned char *requeue_needed; /* per region: PUBLISHED back to NEW when it can be */
	int relay_down, applier_down;  /* crashed components */
	int relay_doomed, applier_doomed; /* crash in the middle of the next batch */
	int recover_needed;            /* its unacked deliveries back: after a restart, or
	                                * when an ack or a requeue could not be sent */
	int64_t central_retry_at;      /* after a failed apply, wait until then */
	int64_t documents_retry_at;
};

int sync_init(struct sync *s, struct world *w, struct metrics *m);
void sync_free(struct sync *s);

/* One round: sync_settle, then a batch relayed from each region, a batch
 * applied at the center and forwarded, a batch applied to the documents
 * store, their publishes left in flight.  Returns how many messages moved;
 * *more is set when a step filled its batch (more may be waiting). */
size_t sync_round(struct sync *s, int64_t now_us, int *more);

/* The steps of a round, for tests that stop between them. */
/* Publishes up to one batch of region r's NEW outbox events, held for
 * sync_settle to mark.  Returns how many were published; 0 when none, when
 * a node is unavailable, or when the region still holds a batch. */
size_t sync_relay(struct sync *s, size_t r);
/* Applies up to one batch from sync.central at the center and forwards it
 * to sync.documents, its deliveries held for sync_settle to ack (none when
 * it still holds some).  Returns how many messages were consumed. */
size_t sync_apply_central(struct sync *s, int64_t now_us);
/* Applies up to one batch from sync.documents; returns how many. */
size_t sync_apply_documents(struct sync *s, int64_t now_us);
/* Waits (once) for the confirms of what the relay and the central applier
 * have in flight: marks the relay's confirmed batches PUBLISHED and acks
 * the deliveries whose forwards were confirmed; what was not confirmed
 * stays NEW, or goes back to the queue. */
void sync_settle(struct sync *s);
/* Writes the APPLIED marks that waited for their region to come back. */
void sync_flush_marks(struct sync *s);

/* Crashes: the relay dies in the middle of its next batch, after
 * publishing it and before marking it; the central applier dies in the
 * middle of its next batch, after applying it and before acking it.  Each
 * stays down until its restart, which recovers from durable state: the
 * relay publishes every unapplied event again, the applier gets its unacked
 * deliveries back. */
void sync_crash_relay(struct sync *s);
void sync_crash_applier(struct sync *s);
void sync_restart_relay(struct sync *s);
void sync_restart_applier(struct sync *s);

/* What is still in flight: regions with NEW or PUBLISHED events, messages
 * in the queues, marks not yet written.  Returns 1 when anything is
 * pending, 0 when sync has drained, -1 when a store could not be asked. */
int sync_pending(struct sync *s, struct sync_backlog *b);

#endif
