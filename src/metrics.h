/*
 * metrics.h - what a run counts and measures, filled by the domain flows
 * and read by the report: orders accepted and rejected (by reason), order
 * latency, sync lag, queue depths over time, refused calls.
 */
#ifndef DDBSIM_METRICS_H
#define DDBSIM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "histogram.h"

#define METRICS_REASONS 64
#define METRICS_SAMPLES 512
#define METRICS_STEPS 256
#define METRICS_SAMPLE_REASONS 8 /* rejection reasons counted in each sample */

struct reason_count {
	char reason[160]; /* "rule:" and a rule's reason */
	uint64_t n;
};

struct depth_sample {
	int64_t at_us;
	uint64_t central, documents; /* ready + unacked */
	uint64_t outbox_new;         /* sum over regions, capped at the read batch */
	uint64_t node_queues[16];    /* node.NAME queues of the first 16 regions */
	uint8_t node_states[16];     /* their states */
	/* Orders so far (cumulative: rates are differences of two samples). */
	uint64_t accepted, rejected;
	uint64_t rejected_by_reason[METRICS_SAMPLE_REASONS]; /* metrics.reasons[i], the first few */
	/* Sync lag of the events applied at the center since the previous
	 * sample; -1 when none was. */
	int64_t lag_p50_us, lag_p99_us;
};

struct step_record {
	int64_t at_us;
	char target[64];
	char action[64];
};

/* A node that came back, and how long its queued writes took to drain. */
struct convergence {
	char node[64];
	int64_t up_at_us;
	int64_t converged_at_us; /* or one of these: */
#define CONVERGENCE_PENDING (-1)     /* not yet (at the end of the run: never) */
#define CONVERGENCE_INTERRUPTED (-2) /* it went down again first */
	uint64_t replayed;
	/* The same on the wall clock: replays cost no virtual time, so this is
	 * what they took. */
	double up_wall_s, converged_wall_s;
};

#define METRICS_CONVERGENCES 128

struct customer_metrics {
	uint64_t generated;
	uint64_t created, updated, deleted;
	uint64_t writes_ok;           /* the home took the write */
	uint64_t writes_home_pending; /* the home was queued, a replica took it */
	uint64_t writes_unavailable;  /* no copy took it now: accepted, pending */
	uint64_t writes_direct, writes_queued, writes_held; /* per copy */
	uint64_t gets, reads_home, reads_replica, reads_failed, reads_not_found, reads_stale;
	uint64_t finds, finds_partial, found;
	uint64_t replayed, replay_stale; /* records replayed; of them, older than stored */
	uint64_t rejected;
	struct reason_count reasons[METRICS_REASONS];
	size_t n_reasons;
	struct convergence conv[METRICS_CONVERGENCES];
	size_t n_conv;
};

struct metrics {
	uint64_t orders_generated;
	uint64_t orders_accepted;
	uint64_t orders_rejected;
	struct reason_count reasons[METRICS_REASONS];
	size_t n_reasons;
	uint64_t group_commits;
	uint64_t commits_in_doubt;  /* store answered UNAVAILABLE: retried */
	uint64_t orders_routed;     /* sent to another region by the order rule */
	struct histogram order_latency_us; /* engine clock: arrival to durable commit */
	struct histogram sync_lag_us;      /* engine clock: placed to applied at the center */
	struct histogram sync_lag_interval_us; /* the same since the last sample */
	uint64_t events_relayed;           /* published and confirmed */
	uint64_t events_applied_central;
	uint64_t events_applied_documents;
	uint64_t redeliveries;
	uint64_t poison_messages;
	uint64_t unavailable_calls;        /* calls refused or failed as UNAVAILABLE */
	uint64_t restocks;
	uint64_t restocks_refused;  /* the region was down: the goods never arrived */
	struct depth_sample samples[METRICS_SAMPLES];
	size_t n_samples;
	int64_t sample_every_us;
	uint64_t max_depth_central, max_depth_documents;
	struct step_record steps[METRICS_STEPS];
	size_t n_steps;
	struct customer_metrics customers;
	uint64_t node_depth_max[64];      /* node.NAME queues, by node index */
	uint64_t node_depth_end[64];      /* the same, when the command ended */
};

void metrics_init(struct metrics *m);
/* Counts a rejected order under reason (truncated to fit; past
 * METRICS_REASONS distinct reasons, counted under "other"). */
void metrics_reject(struct metrics *m, const char *reason);
/* Records queue depths at a time; keeps at most METRICS_SAMPLES by thinning
 * to every other sample when full. */
/* Counts a rejected customer operation under reason. */
void metrics_customer_reject(struct metrics *m, const char *reason);
/* Records a sample of the queue depths in s, completed with the order
 * counts and the sync lag since the previous sample (which it resets). */
void metrics_sample(struct metrics *m, struct depth_sample *s);
void metrics_step(struct metrics *m, int64_t at_us, const char *target, const char *action);

#endif
