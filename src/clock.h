/*
 * clock.h - the virtual clock: a queue of timed events, popped in time order
 * (ties in the order they were scheduled), so that a run is a deterministic
 * sequence of events that runs as fast as the backends allow.
 */
#ifndef DDBSIM_CLOCK_H
#define DDBSIM_CLOCK_H

#include <stddef.h>
#include <stdint.h>

struct clock_event {
	int64_t at_us;
	uint64_t seq; /* scheduling order: breaks ties */
	int type;
	int arg;
};

struct clock {
	int64_t now_us;
	uint64_t next_seq;
	struct clock_event *heap;
	size_t n, cap;
};

void clock_init(struct clock *c);
void clock_free(struct clock *c);
/* Schedules an event; at_us earlier than now is run at now.  -1 on ENOMEM. */
int clock_schedule(struct clock *c, int64_t at_us, int type, int arg);
/* Pops the earliest event and advances now to it; 0 when none is left. */
int clock_next(struct clock *c, struct clock_event *ev);
/* The time of the earliest event, or INT64_MAX when none. */
int64_t clock_peek(const struct clock *c);

#endif
