/*
 * clock.c - the virtual clock's event queue: a binary min-heap ordered by
 * (time, scheduling order).
 */
#include "clock.h"

#include <stdlib.h>

void clock_init(struct clock *c)
{
	c->now_us = 0;
	c->next_seq = 0;
	c->heap = NULL;
	c->n = c->cap = 0;
}

void clock_free(struct clock *c)
{
	free(c->heap);
	clock_init(c);
}

static int earlier(const struct clock_event *a, const struct clock_event *b)
{
	return a->at_us < b->at_us || (a->at_us == b->at_us && a->seq < b->seq);
}

int clock_schedule(struct clock *c, int64_t at_us, int type, int arg)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct clock_event *grown = realloc(c->heap, cap * sizeof *grown);
		if (!grown)
			return -1;
		c->heap = grown;
		c->cap = cap;
	}
	struct clock_event ev = { at_us < c->now_us ? c->now_us : at_us, c->next_seq++, type, arg };
	size_t i = c->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!earlier(&ev, &c->heap[parent]))
			break;
		c->heap[i] = c->heap[parent];
		i = parent;
	}
	c->heap[i] = ev;
	return 0;
}

int clock_next(struct clock *c, struct clock_event *ev)
{
	if (c->n == 0)
		return 0;
	*ev = c->heap[0];
	struct clock_event last = c->heap[--c->n];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= c->n)
			break;
		if (child + 1 < c->n && earlier(&c->heap[child + 1], &c->heap[child]))
			child++;
		if (!earlier(&c->heap[child], &last))
			break;
		c->heap[i] = c->heap[child];
		i = child;
	}
	if (c->n > 0)
		c->heap[i] = last;
	c->now_us = ev->at_us;
	return 1;
}

int64_t clock_peek(const struct clock *c)
{
	return c->n ? c->heap[0].at_us : INT64_MAX;
}
