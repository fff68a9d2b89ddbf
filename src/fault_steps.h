/*
 * fault_steps.h - the failure steps in force during a run, and the state
 * they give the nodes and the transport.
 *
 * Steps overlap and nest: a node's state is derived from its base and from
 * every step with a duration that is in force, so the end of one step
 * takes away only that step.
 *
 *   base       the states of DATA_DIR/nodes (`ddbsim node set`) at the start
 *              of the run, changed by steps without a duration (which hold
 *              for the rest of the run) and by `up`;
 *   in force   a step with a duration, from its start to its end.
 *
 * A node is down while its base or any step in force says down; else slow
 * with the largest latency and the largest jitter of its base and the slow
 * steps in force; else up.  A link is cut while the base or any partition
 * in force cuts it.  Each message fault has the largest probability of its
 * base and of the steps of that kind in force (a delay: that step's delay;
 * the longest of the equally likely ones).  `up` sets the base up and ends
 * the down and slow steps in force on the node.  The relay or the applier
 * restarts when no crash of it is in force any more.
 */
#ifndef DDBSIM_FAULT_STEPS_H
#define DDBSIM_FAULT_STEPS_H

#include <stddef.h>
#include <stdint.h>

#include "faults.h"
#include "node.h"
#include "scenario.h"

/* A node's state outside the steps in force. */
struct fault_base {
	int down;
	int64_t latency_us, jitter_us; /* 0: not slow */
	uint64_t cut_to;
};

#define FAULT_MESSAGE_KINDS 4 /* drop, duplicate, delay, reorder */

struct fault_steps {
	struct node_table *nodes;
	struct fault_layer *fl;
	struct fault_base *base; /* by node index */
	double base_p[FAULT_MESSAGE_KINDS];
	int64_t base_delay_us;
	const struct scenario_failure **active; /* steps with a duration in force */
	size_t n_active, cap_active;
};

/* Takes the nodes' current states (the nodes file's) as the base, and the
 * layer's message faults.  -1 on ENOMEM. */
int fault_steps_init(struct fault_steps *fs, struct node_table *nodes, struct fault_layer *fl);
void fault_steps_free(struct fault_steps *fs);

/* Applies one step of the schedule (a start, an end, or a step without a
 * duration; not a crash's effect on the relay or applier, which the caller
 * does), then sets every node's state and links and the layer's message
 * faults from the base and the steps in force.  *changed gets the bit of
 * each node that went down or came up; `what` says what the step did, for
 * the report.  -1 on ENOMEM (nothing changed). */
int fault_steps_apply(struct fault_steps *fs, const struct scenario_failure *f, int64_t now_us,
                      uint64_t *changed, char *what, size_t whatlen);

/* Whether a crash of "relay" or "applier" is in force. */
int fault_steps_crashed(const struct fault_steps *fs, const char *target);

#endif
