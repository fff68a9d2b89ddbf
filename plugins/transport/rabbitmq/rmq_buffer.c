/*
 * rmq_buffer.c - the local buffers of the RabbitMQ transport's queues: the
 * ready messages (a ring ordered by AMQP delivery tag), the handed-out
 * deliveries (a ring in hand-out order), the gathered acks and the tags lost
 * with a connection.  No AMQP here: rmq_conn.c fills the buffers from the
 * frames it reads, the operations of rabbitmq.c hand out and settle.
 */
#include "rabbitmq_int.h"

#include <stdlib.h>
#include <string.h>

/* Makes room in a ring of elements of `size` bytes (capacity *cap, a power
 * of two, or 0; n elements from *head) for `more` more: doubles the
 * capacity from 16 up until they fit, and moves the elements to the front
 * of the new slots.  0, or -1 when out of memory (the ring is unchanged). */
static int ring_reserve(void **slot, size_t size, size_t *cap, size_t *head, size_t n,
                        size_t more)
{
	if (more <= *cap - n)
		return 0;
	size_t grown_cap = *cap ? *cap : 16;
	while (grown_cap - n < more) {
		if (grown_cap > SIZE_MAX / 2 / size)
			return -1;
		grown_cap *= 2;
	}
	unsigned char *grown = malloc(grown_cap * size);
	if (!grown)
		return -1;
	if (n) {
		/* Up to the end of the old slots, then from their start. */
		size_t first = *cap - *head < n ? *cap - *head : n;
		memcpy(grown, (unsigned char *)*slot + *head * size, first * size);
		memcpy(grown + first * size, *slot, (n - first) * size);
	}
	free(*slot);
	*slot = grown;
	*cap = grown_cap;
	*head = 0;
	return 0;
}

int rbuf_fifo_reserve(struct fifo *f, size_t more)
{
	void *slot = f->slot;
	int rc = ring_reserve(&slot, sizeof *f->slot, &f->cap, &f->head, f->n, more);
	f->slot = slot;
	return rc;
}

int rbuf_out_reserve(struct outlist *o, size_t more)
{
	void *slot = o->slot;
	int rc = ring_reserve(&slot, sizeof *o->slot, &o->cap, &o->head, o->n, more);
	o->slot = slot;
	return rc;
}

/* Room must have been reserved.  m goes after every message with a lower
 * tag: at the back for a new delivery, near the front for a requeued one. */
void rbuf_fifo_insert(struct fifo *f, struct msg *m)
{
	size_t i = f->n;
	while (i > 0 && (*rbuf_fifo_at(f, i - 1))->amqp_tag > m->amqp_tag) {
		*rbuf_fifo_at(f, i) = *rbuf_fifo_at(f, i - 1);
		i--;
	}
	*rbuf_fifo_at(f, i) = m;
	f->n++;
}

struct msg *rbuf_fifo_pop(struct fifo *f)
{
	struct msg *m = f->slot[f->head];
	f->head = (f->head + 1) & (f->cap - 1);
	f->n--;
	return m;
}

static void fifo_clear(struct fifo *f)
{
	while (f->n)
		free(rbuf_fifo_pop(f));
	free(f->slot);
	memset(f, 0, sizeof *f);
}

/* The unsettled entry with this tag, or NULL. */
struct entry *rbuf_out_find(struct outlist *o, uint64_t tag)
{
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct entry *e = rbuf_out_at(o, mid);
		if (e->tag == tag)
			return e->m ? e : NULL;
		if (e->tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Drops settled entries from the head; and from anywhere once they
 * outnumber the unsettled ones well (a delivery kept for long at the head
 * must not keep every later one's entry). */
void rbuf_out_trim(struct outlist *o, size_t unsettled)
{
	while (o->n && !o->slot[o->head].m) {
		o->head = (o->head + 1) & (o->cap - 1);
		o->n--;
	}
	if (o->n > 4 * unsettled + 64) {
		size_t kept = 0;
		for (size_t i = 0; i < o->n; i++)
			if (rbuf_out_at(o, i)->m)
				*rbuf_out_at(o, kept++) = *rbuf_out_at(o, i);
		o->n = kept;
	}
	if (o->n == 0)
		o->head = 0;
}
int rbuf_u64s_push(struct u64s *a, uint64_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		uint64_t *v = realloc(a->v, cap * sizeof *v);
		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}
void rbuf_queue_forget_connection(struct queue *q)
{
	fifo_clear(&q->ready);
	for (size_t i = 0; i < q->out.n; i++) {
		struct entry *e = rbuf_out_at(&q->out, i);
		if (!e->m)
			continue;
		/* Tags increase, so lost stays sorted.  On a failed push the
		 * tag answers NOT_FOUND instead of UNAVAILABLE: no harm. */
		(void)rbuf_u64s_push(&q->lost, e->tag);
		free(e->m);
		e->m = NULL;
	}
	free(q->out.slot);
	memset(&q->out, 0, sizeof q->out);
	q->unacked = 0;
	q->acks.n = 0;
	q->ch = 0;
	q->consuming = 0;
	free(q->part);
	q->part = NULL;
	q->part_state = 0;
}

void rbuf_queue_free(struct queue *q)
{
	rbuf_queue_forget_connection(q);
	free(q->acks.v);
	free(q->lost.v);
	free(q->name);
	free(q);
}

