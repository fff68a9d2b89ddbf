/*
 * rabbitmq.c - the RabbitMQ transport (rabbitmq-c 0.11): durable queues,
 * persistent messages, publisher confirms, manual acks with a prefetch, and
 * reconnection with backoff.  Messages survive a restart of ddbsim and of
 * the broker (caps DDB_TRANSPORT_DURABLE).
 *
 * One AMQP connection per instance, with these channels:
 *
 *   1  publishing, in confirm mode: every publish goes to the default
 *      exchange with the queue name as routing key, persistent
 *      (delivery_mode 2) and mandatory, so that a message for a queue that
 *      does not exist comes back (basic.return) instead of vanishing;
 *   2  control: queue.declare (durable; passive for depth), queue.delete;
 *   3+ one per queue this instance receives from, opened at its first
 *      receive: basic.qos(prefetch) and basic.consume with manual acks.
 *
 * The broker pushes deliveries; every frame is read through one function
 * (pump) that copies each delivery's body into memory of our own, in
 * delivery order, into the queue's local buffer of ready messages.
 * receive() hands messages out of that buffer.  A queue's local state:
 *
 *   ready     delivered by the broker and not handed out, ordered by AMQP
 *             delivery tag, i.e. by position in the queue;
 *   out       handed out by receive() and not yet settled, in hand-out
 *             order, each with the delivery tag of this instance (one
 *             counter per instance: tags are unique and increase over the
 *             instance's life, across queues and reconnections) and the
 *             AMQP delivery tag of its channel.
 *
 * Settling:
 *   ack           acks the AMQP tag.  Acks are gathered and sent when the
 *                 queue has nothing unsettled any more, when 256 are waiting,
 *                 and before a receive, depth or recover on the queue: as one
 *                 basic.ack with multiple=1 when no message still held has a
 *                 lower tag, else one basic.ack per message.
 *   reject(requeue)  puts the message back into the local ready buffer at
 *                 its position, marked redelivered; it stays unacked at the
 *                 broker under its AMQP tag.  This gives exactly the order of
 *                 the memory plugin (requeued messages first, in publish
 *                 order, then the rest), which a basic.reject with requeue
 *                 could not: the broker would put it behind the messages
 *                 already prefetched.  If the connection dies meanwhile, the
 *                 broker requeues it itself.
 *   reject(drop)  basic.reject without requeue: the broker drops it (or
 *                 dead-letters it, if the queue was declared so by others).
 *   recover       every unsettled message back into the local buffer,
 *                 marked redelivered, as reject(requeue) does one by one.
 *
 * depth: ready = the broker's count of ready messages (queue.declare
 * passive) + the local buffer; unacked = handed out and unsettled.  A
 * delivery can be on its way from the queue to the consumer when the count
 * is taken (counted in neither), so after the count depth makes a round trip
 * on the consumer's channel (basic.qos, a synchronous method): the broker
 * answers it after every delivery it had sent to that channel, so they are
 * all in the local buffer before depth adds it up.  It never misses a
 * message; one that the broker delivers during the call can be counted
 * twice, until the next call.  What rabbitmqctl list_queues shows as "messages" (ready +
 * unacknowledged) equals ready + unacked here once acks are flushed (depth
 * flushes them first).
 *
 * Connection loss (the broker stops, the socket breaks, a protocol error on
 * any channel): the connection is dropped, and every call returns
 * DDB_UNAVAILABLE until the next attempt, 50 ms later; each failed attempt
 * doubles the wait, up to 2 s.  A successful attempt re-declares every queue
 * the instance knows and reopens the channels.  What was lost with the
 * connection: the local buffers (the broker delivers them again, marked
 * redelivered), the unsettled deliveries (their tags now return
 * DDB_UNAVAILABLE once, then DDB_NOT_FOUND), and the publishes not yet
 * confirmed (the next confirm() fails: the core publishes them again and
 * the center ignores the copies).
 *
 * confirm() waits until the broker has confirmed every publish since the
 * last confirm; a nack, a returned message or a lost connection in between
 * fails it with DDB_UNAVAILABLE ("assume none of them was taken").  Inside
 * publish(), no more than confirm_window publishes wait for their confirm:
 * publish reads confirms first when the window is full.  publish() encodes
 * the three frames of a message (amqp_encode_method, amqp_encode_properties)
 * into a buffer of the instance, which goes to the socket in one write when
 * it holds 64 KiB, and before anything else is sent or waited for: a batch
 * costs one system call instead of three per message.  A publish that
 * returns an error was not sent (the caller knows); it does not fail the
 * next confirm by itself.
 *
 * Read-only (DDB_OPEN_READONLY, ddbsim check): declare and depth ask the
 * broker passively (queue.declare with passive set), which creates nothing;
 * a queue that does not exist reads as empty.  Everything else (publish,
 * receive, settling, recover, reset) is refused with DDB_INVALID: a receive
 * alone would mark what it got redelivered.
 *
 * reset() deletes, on the broker, every queue this instance declared, and
 * forgets them (the core declares its queues before it resets).  AMQP
 * cannot list a broker's queues, so queues this instance never declared
 * are left alone.  On a broker shared with other ddbsim runs, reset()
 * deletes their queues of the same names too: give each run a vhost of
 * its own.
 *
 * Options:
 *   url            amqp://user:password@host:port/vhost (default
 *                  amqp://guest:guest@127.0.0.1:5672/%2f); an empty vhost
 *                  ("...:5672/") means the default vhost "/".  Put
 *                  credentials in the environment and write ${VAR} in the
 *                  config.  amqps:// is not supported.
 *   prefetch       unacked deliveries the broker may push per queue
 *                  (basic.qos), 1-65535, default 4096: room for the next
 *                  batch while the core holds one (a sync round of 2048)
 *   confirm_window publishes that may wait for their confirm, default 8192:
 *                  a sync round's publishes (2048 per region and 2048
 *                  forwards) go out without waiting
 *   timeout_ms     how long to wait for the broker (connect, login, each
 *                  synchronous method, a confirm), default 10000
 *   queue_version  the x-queue-version of the classic queues it creates: 2
 *                  (default: RabbitMQ 3.10's new storage, whose confirms come
 *                  about twice as fast for batches of tens to hundreds of
 *                  messages), 1, or 0 for no argument (the broker's
 *                  default).  A queue that exists already is used as it is,
 *                  whatever its version (the broker would refuse to declare
 *                  it with another one); other settings must match (durable).
 * Other options are refused (the core checks them against option_keys[]).
 *
 * An instance is not thread safe: the engine calls it from one thread.
 */
#include <ddbsim/plugin.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define RMQ_VERSION "0.1.0"
#define DEFAULT_URL "amqp://guest:guest@127.0.0.1:5672/%2f"
#define QUEUE_NAME_MAX 255 /* an AMQP short string */
#define PUB_CH 1
#define CTL_CH 2
#define FIRST_CONSUMER_CH 3
#define FRAME_MAX 131072
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define ACK_BATCH 256
#define SEND_AT (64 * 1024) /* bytes of publishes gathered before a write */

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---- messages and the local buffer --------------------------------------- */

struct msg {
	uint64_t amqp_tag; /* on the consumer channel of the current connection */
	size_t len;
	int redelivered;
	_Alignas(max_align_t) unsigned char body[];
};

/* Ready messages, ordered by AMQP tag: a ring, capacity a power of two. */
struct fifo {
	struct msg **slot;
	size_t cap, head, n;
};

static struct msg **fifo_at(struct fifo *f, size_t i)
{
	return &f->slot[(f->head + i) & (f->cap - 1)];
}

static int fifo_reserve(struct fifo *f, size_t more)
{
	if (more <= f->cap - f->n)
		return 0;
	size_t cap = f->cap ? f->cap : 16;
	while (cap - f->n < more) {
		if (cap > SIZE_MAX / 2 / sizeof *f->slot)
			return -1;
		cap *= 2;
	}
	struct msg **slot = malloc(cap * sizeof *slot);
	if (!slot)
		return -1;
	for (size_t i = 0; i < f->n; i++)
		slot[i] = *fifo_at(f, i);
	free(f->slot);
	f->slot = slot;
	f->cap = cap;
	f->head = 0;
	return 0;
}

/* Room must have been reserved.  m goes after every message with a lower
 * tag: at the back for a new delivery, near the front for a requeued one. */
static void fifo_insert(struct fifo *f, struct msg *m)
{
	size_t i = f->n;
	while (i > 0 && (*fifo_at(f, i - 1))->amqp_tag > m->amqp_tag) {
		*fifo_at(f, i) = *fifo_at(f, i - 1);
		i--;
	}
	*fifo_at(f, i) = m;
	f->n++;
}

static struct msg *fifo_pop(struct fifo *f)
{
	struct msg *m = f->slot[f->head];
	f->head = (f->head + 1) & (f->cap - 1);
	f->n--;
	return m;
}

static void fifo_clear(struct fifo *f)
{
	while (f->n)
		free(fifo_pop(f));
	free(f->slot);
	memset(f, 0, sizeof *f);
}

/* Handed-out deliveries, in hand-out order (so by tag); m == NULL once
 * settled.  Settled entries leave from the head. */
struct entry {
	uint64_t tag;
	struct msg *m;
};

struct outlist {
	struct entry *slot;
	size_t cap, head, n;
};

static struct entry *out_at(struct outlist *o, size_t i)
{
	return &o->slot[(o->head + i) & (o->cap - 1)];
}

static int out_reserve(struct outlist *o, size_t more)
{
	if (more <= o->cap - o->n)
		return 0;
	size_t cap = o->cap ? o->cap : 16;
	while (cap - o->n < more) {
		if (cap > SIZE_MAX / 2 / sizeof *o->slot)
			return -1;
		cap *= 2;
	}
	struct entry *slot = malloc(cap * sizeof *slot);
	if (!slot)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		slot[i] = *out_at(o, i);
	free(o->slot);
	o->slot = slot;
	o->cap = cap;
	o->head = 0;
	return 0;
}

/* The unsettled entry with this tag, or NULL. */
static struct entry *out_find(struct outlist *o, uint64_t tag)
{
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct entry *e = out_at(o, mid);
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
static void out_trim(struct outlist *o, size_t unsettled)
{
	while (o->n && !o->slot[o->head].m) {
		o->head = (o->head + 1) & (o->cap - 1);
		o->n--;
	}
	if (o->n > 4 * unsettled + 64) {
		size_t kept = 0;
		for (size_t i = 0; i < o->n; i++)
			if (out_at(o, i)->m)
				*out_at(o, kept++) = *out_at(o, i);
		o->n = kept;
	}
	if (o->n == 0)
		o->head = 0;
}

/* A growable array of 64-bit numbers. */
struct u64s {
	uint64_t *v;
	size_t n, cap;
};

static int u64s_push(struct u64s *a, uint64_t x)
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

/* ---- queues and instances ------------------------------------------------ */

struct queue {
	char *name;
	amqp_channel_t ch; /* its consumer channel on this connection; 0: none */
	int consuming;     /* basic.consume is active on ch */
	struct fifo ready;
	struct outlist out;
	size_t unacked;      /* entries of out not settled */
	struct u64s acks;    /* AMQP tags acked here, not yet sent */
	struct u64s lost;    /* our tags of deliveries lost with a connection, sorted */
	/* the delivery being read: 0 none, 1 its header is next, 2 its body */
	int part_state;
	uint64_t part_tag;
	int part_redelivered;
	struct msg *part;
	size_t part_have;
};

struct rmq {
	char *url;                        /* amqp_parse_url's copy: ci points into it */
	struct amqp_connection_info ci;
	char where[160];                  /* "host:port vhost '/'" for messages */
	unsigned prefetch;
	uint64_t window;
	long timeout_ms;
	unsigned queue_version;           /* x-queue-version of new queues; 0: none */
	int readonly;                     /* DDB_OPEN_READONLY: observe, never change */

	amqp_connection_state_t conn;     /* NULL: not connected */
	int channel_max;
	unsigned char *obuf;              /* encoded publishes not yet written */
	size_t olen, ocap;
	long backoff_ms;                  /* the wait after the next failure */
	double retry_at_ms;               /* no attempt to connect before */
	char down_why[200];

	/* publisher confirms on PUB_CH: sequence numbers 1, 2, ... */
	uint64_t pub_seq;                 /* the last one published */
	uint64_t low;                     /* every one below is settled */
	unsigned char *settled;           /* ring, indexed by seq & ring_mask */
	uint64_t ring_mask;
	int failed;                       /* the current batch will not confirm */
	char failed_why[512];

	struct queue **queues;
	size_t nq, capq;
	struct queue *last;               /* the queue of the last lookup */
	uint64_t next_tag;                /* the last tag handed out */
};

PRINTF_LIKE(2, 3)
static void set_err(struct ddb_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

static enum ddb_status oom(struct ddb_err *err, const char *what)
{
	set_err(err, "rabbitmq transport: out of memory (%s)", what);
	return DDB_INTERNAL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct timeval ms_tv(long ms)
{
	if (ms < 0)
		ms = 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

static amqp_bytes_t bytes_of(const char *s)
{
	return amqp_cstring_bytes(s);
}

/* An AMQP string for "%.*s": its length, capped, and its bytes. */
static int text_len(amqp_bytes_t b)
{
	return !b.bytes ? 0 : b.len > 200 ? 200 : (int)b.len;
}

static const char *text_of(amqp_bytes_t b)
{
	return b.bytes ? (const char *)b.bytes : "";
}

static void queue_forget_connection(struct queue *q)
{
	fifo_clear(&q->ready);
	for (size_t i = 0; i < q->out.n; i++) {
		struct entry *e = out_at(&q->out, i);
		if (!e->m)
			continue;
		/* Tags increase, so lost stays sorted.  On a failed push the
		 * tag answers NOT_FOUND instead of UNAVAILABLE: no harm. */
		(void)u64s_push(&q->lost, e->tag);
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

static void queue_free(struct queue *q)
{
	queue_forget_connection(q);
	free(q->acks.v);
	free(q->lost.v);
	free(q->name);
	free(q);
}

/* Forgets the connection: everything it held locally is gone (the broker
 * delivers it again), and the publishes it had not confirmed fail. */
PRINTF_LIKE(2, 3)
static void drop(struct rmq *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->down_why, sizeof r->down_why, fmt, ap);
	va_end(ap);
	if (r->conn) {
		amqp_destroy_connection(r->conn);
		r->conn = NULL;
	}
	r->olen = 0;
	r->retry_at_ms = now_ms() + (double)r->backoff_ms;
	for (size_t i = 0; i < r->nq; i++)
		queue_forget_connection(r->queues[i]);
	if (r->pub_seq >= r->low && !r->failed) {
		r->failed = 1;
		snprintf(r->failed_why, sizeof r->failed_why,
		         "%llu publish(es) not confirmed before the connection was lost: %s",
		         (unsigned long long)(r->pub_seq - r->low + 1), r->down_why);
	}
	r->pub_seq = 0;
	r->low = 1;
	memset(r->settled, 0, (size_t)r->ring_mask + 1);
}

static enum ddb_status unavailable(struct rmq *r, struct ddb_err *err, const char *what)
{
	set_err(err, "rabbitmq transport: %s: broker %s unavailable: %s", what, r->where,
	        r->down_why);
	return DDB_UNAVAILABLE;
}

/* What a read-only instance answers to an operation that would change
 * something. */
static enum ddb_status refuse_readonly(const struct rmq *r, const char *what, struct ddb_err *err)
{
	(void)r;
	set_err(err, "rabbitmq transport: %s: opened read-only", what);
	return DDB_INVALID;
}

/* The status an AMQP reply code stands for. */
static enum ddb_status code_status(unsigned code)
{
	switch (code) {
	case AMQP_NOT_FOUND:
		return DDB_NOT_FOUND;
	case AMQP_ACCESS_REFUSED:
	case AMQP_PRECONDITION_FAILED:
	case AMQP_NOT_ALLOWED:
		return DDB_INVALID;
	case AMQP_INTERNAL_ERROR:
		return DDB_INTERNAL;
	default:
		return DDB_UNAVAILABLE; /* connection forced, resource error, ... */
	}
}

/* Describes a failed reply into buf; returns the status it stands for. */
static enum ddb_status describe_reply(amqp_rpc_reply_t rep, char *buf, size_t len)
{
	switch (rep.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		snprintf(buf, len, "ok");
		return DDB_OK;
	case AMQP_RESPONSE_NONE:
		snprintf(buf, len, "no reply from the broker");
		return DDB_UNAVAILABLE;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(buf, len, "%s", amqp_error_string2(rep.library_error));
		return DDB_UNAVAILABLE;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (rep.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			const amqp_connection_close_t *m = rep.reply.decoded;
			snprintf(buf, len, "the broker closed the connection: %u %.*s", m->reply_code,
			         text_len(m->reply_text), text_of(m->reply_text));
			return code_status(m->reply_code);
		}
		if (rep.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			const amqp_channel_close_t *m = rep.reply.decoded;
			snprintf(buf, len, "the broker closed the channel: %u %.*s", m->reply_code,
			         text_len(m->reply_text), text_of(m->reply_text));
			return code_status(m->reply_code);
		}
		snprintf(buf, len, "unexpected method 0x%08x from the broker", (unsigned)rep.reply.id);
		return DDB_INTERNAL;
	}
	snprintf(buf, len, "unknown reply");
	return DDB_INTERNAL;
}

/* Checks the reply of a synchronous method; on failure drops the
 * connection (a channel error leaves the channel closed, and the simplest
 * sound state after any error is a fresh connection) and fills err. */
static enum ddb_status check_reply(struct rmq *r, amqp_rpc_reply_t rep, const char *what,
                                   struct ddb_err *err)
{
	if (rep.reply_type == AMQP_RESPONSE_NORMAL)
		return DDB_OK;
	char why[160];
	enum ddb_status st = describe_reply(rep, why, sizeof why);
	drop(r, "%s: %s", what, why);
	set_err(err, "rabbitmq transport: %s: %s (broker %s)", what, why, r->where);
	return st == DDB_OK ? DDB_INTERNAL : st;
}

static enum ddb_status check_rpc(struct rmq *r, const char *what, struct ddb_err *err)
{
	return check_reply(r, amqp_get_rpc_reply(r->conn), what, err);
}

/* Writes the gathered publishes to the socket.  0, or -1 when the
 * connection is gone (dropped: the unconfirmed publishes fail the next
 * confirm). */
static int send_pending(struct rmq *r)
{
	size_t off = 0;
	if (!r->conn) {
		r->olen = 0;
		return -1;
	}
	int fd = amqp_get_sockfd(r->conn);
	while (off < r->olen) {
		ssize_t n = send(fd, r->obuf + off, r->olen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The socket buffer is full: wait until the broker reads. */
			struct pollfd pfd = { fd, POLLOUT, 0 };
			int pr = poll(&pfd, 1, (int)r->timeout_ms);
			if (pr > 0 || (pr < 0 && errno == EINTR))
				continue;
			if (pr == 0)
				drop(r, "the broker took no data for %ld ms", r->timeout_ms);
			else
				drop(r, "waiting to send: %s", strerror(errno));
			return -1;
		}
		drop(r, "sending to the broker: %s", n < 0 ? strerror(errno) : "nothing sent");
		return -1;
	}
	r->olen = 0;
	return 0;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* Appends the frames of a persistent, mandatory basic.publish of body to
 * `queue` through the default exchange: method, content header, body
 * frames of at most frame_max - 8 bytes.  A frame is type(1) channel(2)
 * size(4) payload frame-end(1). */
static enum ddb_status encode_publish(struct rmq *r, const char *queue, const void *body,
                                      size_t len, struct ddb_err *err)
{
	size_t frame_max = (size_t)amqp_get_frame_max(r->conn);
	if (frame_max < 4096)
		frame_max = 4096;
	size_t chunk = frame_max - 8, qlen = strlen(queue);
	size_t n_body = len / chunk + 1;
	if (len > SIZE_MAX / 2 || n_body > SIZE_MAX / 16) {
		set_err(err, "rabbitmq transport: publish to '%s': %zu bytes is too large", queue, len);
		return DDB_INVALID;
	}
	size_t need = (8 + 32 + qlen) + (8 + 64) + len + 8 * n_body;
	if (need > r->ocap - r->olen) {
		size_t cap = r->ocap ? r->ocap : SEND_AT + 4096;
		while (cap - r->olen < need)
			cap *= 2;
		unsigned char *grown = realloc(r->obuf, cap);
		if (!grown)
			return oom(err, "publish buffer");
		r->obuf = grown;
		r->ocap = cap;
	}
	unsigned char *p = r->obuf + r->olen;
	/* basic.publish */
	amqp_basic_publish_t m;
	memset(&m, 0, sizeof m);
	m.exchange = amqp_empty_bytes;
	m.routing_key = bytes_of(queue);
	m.mandatory = 1;
	p[0] = AMQP_FRAME_METHOD;
	put16(p + 1, PUB_CH);
	put32(p + 7, AMQP_BASIC_PUBLISH_METHOD);
	amqp_bytes_t room = { 32 + qlen, p + 11 };
	int n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m, room);
	if (n < 0)
		goto encode_failed;
	put32(p + 3, (uint32_t)(4 + n));
	p[11 + n] = AMQP_FRAME_END;
	p += 12 + n;
	/* content header: class, weight, body size, properties */
	amqp_basic_properties_t props;
	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	p[0] = AMQP_FRAME_HEADER;
	put16(p + 1, PUB_CH);
	put16(p + 7, AMQP_BASIC_CLASS);
	put16(p + 9, 0);
	put64(p + 11, len);
	room.len = 64;
	room.bytes = p + 19;
	n = amqp_encode_properties(AMQP_BASIC_CLASS, &props, room);
	if (n < 0)
		goto encode_failed;
	put32(p + 3, (uint32_t)(12 + n));
	p[19 + n] = AMQP_FRAME_END;
	p += 20 + n;
	/* body */
	for (size_t off = 0; off < len; off += chunk) {
		size_t c = len - off < chunk ? len - off : chunk;
		p[0] = AMQP_FRAME_BODY;
		put16(p + 1, PUB_CH);
		put32(p + 3, (uint32_t)c);
		memcpy(p + 7, (const unsigned char *)body + off, c);
		p[7 + c] = AMQP_FRAME_END;
		p += 8 + c;
	}
	r->olen = (size_t)(p - r->obuf);
	return DDB_OK;
encode_failed:
	set_err(err, "rabbitmq transport: publish to '%s': cannot encode the frames: %s", queue,
	        amqp_error_string2(n));
	return DDB_INTERNAL;
}

/* Gives back the memory rabbitmq-c keeps for the replies of synchronous
 * methods (it grows until released), unless frames are set aside. */
static void release(struct rmq *r)
{
	if (r->conn)
		amqp_maybe_release_buffers(r->conn);
}

/* ---- reading frames -------------------------------------------------------- */

static struct queue *by_channel(struct rmq *r, amqp_channel_t ch)
{
	if (r->last && r->last->ch == ch)
		return r->last;
	for (size_t i = 0; i < r->nq; i++)
		if (r->queues[i]->ch == ch)
			return r->last = r->queues[i];
	return NULL;
}

/* A publish with sequence number seq (or all up to it) is settled. */
static void settle(struct rmq *r, uint64_t seq, int multiple)
{
	if (seq < r->low || seq > r->pub_seq)
		return; /* settled already */
	if (multiple)
		for (uint64_t s = r->low; s <= seq; s++)
			r->settled[s & r->ring_mask] = 1;
	else
		r->settled[seq & r->ring_mask] = 1;
	while (r->low <= r->pub_seq && r->settled[r->low & r->ring_mask]) {
		r->settled[r->low & r->ring_mask] = 0;
		r->low++;
	}
}

static void publisher_method(struct rmq *r, amqp_method_number_t id, void *decoded)
{
	if (id == AMQP_BASIC_ACK_METHOD) {
		const amqp_basic_ack_t *a = decoded;
		settle(r, a->delivery_tag, a->multiple);
	} else if (id == AMQP_BASIC_NACK_METHOD) {
		const amqp_basic_nack_t *n = decoded;
		if (!r->failed) {
			r->failed = 1;
			snprintf(r->failed_why, sizeof r->failed_why,
			         "the broker refused (nack) publish %llu%s",
			         (unsigned long long)n->delivery_tag, n->multiple ? " and earlier ones" : "");
		}
		settle(r, n->delivery_tag, n->multiple);
	} else if (id == AMQP_BASIC_RETURN_METHOD) {
		/* The queue is gone from the broker (deleted by someone else):
		 * a fresh connection declares it again, and the batch fails so
		 * that the core publishes it again. */
		const amqp_basic_return_t *rt = decoded;
		char why[200];
		snprintf(why, sizeof why, "the broker returned a message for queue '%.*s': %u %.*s",
		         text_len(rt->routing_key), text_of(rt->routing_key), rt->reply_code,
		         text_len(rt->reply_text), text_of(rt->reply_text));
		if (!r->failed) {
			r->failed = 1;
			snprintf(r->failed_why, sizeof r->failed_why, "%s", why);
		}
		drop(r, "%s", why);
	}
}

static void delivery_complete(struct rmq *r, struct queue *q)
{
	struct msg *m = q->part;
	q->part = NULL;
	q->part_state = 0;
	if (fifo_reserve(&q->ready, 1) != 0) {
		free(m);
		drop(r, "out of memory buffering a delivery");
		return;
	}
	fifo_insert(&q->ready, m);
}

/* Handles one frame; may drop the connection. */
static void handle_frame(struct rmq *r, const amqp_frame_t *f)
{
	if (f->frame_type == AMQP_FRAME_METHOD) {
		amqp_method_number_t id = f->payload.method.id;
		void *decoded = f->payload.method.decoded;
		if (id == AMQP_CONNECTION_CLOSE_METHOD) {
			const amqp_connection_close_t *m = decoded;
			drop(r, "the broker closed the connection: %u %.*s", m->reply_code,
			     text_len(m->reply_text), text_of(m->reply_text));
			return;
		}
		if (id == AMQP_CHANNEL_CLOSE_METHOD) {
			const amqp_channel_close_t *m = decoded;
			drop(r, "the broker closed channel %u: %u %.*s", (unsigned)f->channel,
			     m->reply_code, text_len(m->reply_text), text_of(m->reply_text));
			return;
		}
		if (f->channel == PUB_CH) {
			publisher_method(r, id, decoded);
			return;
		}
		struct queue *q = f->channel >= FIRST_CONSUMER_CH ? by_channel(r, f->channel) : NULL;
		if (!q)
			return; /* a channel closed since: stale */
		if (id == AMQP_BASIC_DELIVER_METHOD) {
			const amqp_basic_deliver_t *d = decoded;
			free(q->part);
			q->part = NULL;
			q->part_state = 1;
			q->part_tag = d->delivery_tag;
			q->part_redelivered = d->redelivered != 0;
		} else if (id == AMQP_BASIC_CANCEL_METHOD) {
			q->consuming = 0; /* the queue was deleted: consume again later */
		}
		return;
	}
	if (f->channel < FIRST_CONSUMER_CH)
		return; /* the content of a returned message: skipped */
	struct queue *q = by_channel(r, f->channel);
	if (!q)
		return;
	if (f->frame_type == AMQP_FRAME_HEADER && q->part_state == 1) {
		uint64_t size = f->payload.properties.body_size;
		if (size > (uint64_t)(SIZE_MAX - sizeof(struct msg))) {
			drop(r, "a delivery of %llu bytes does not fit in memory", (unsigned long long)size);
			return;
		}
		struct msg *m = malloc(sizeof *m + (size_t)size);
		if (!m) {
			drop(r, "out of memory for a delivery of %llu bytes", (unsigned long long)size);
			return;
		}
		m->amqp_tag = q->part_tag;
		m->len = (size_t)size;
		m->redelivered = q->part_redelivered;
		q->part = m;
		q->part_have = 0;
		q->part_state = 2;
		if (size == 0)
			delivery_complete(r, q);
	} else if (f->frame_type == AMQP_FRAME_BODY && q->part_state == 2) {
		amqp_bytes_t b = f->payload.body_fragment;
		if (b.len > q->part->len - q->part_have) {
			drop(r, "a delivery on channel %u has more body than announced",
			     (unsigned)f->channel);
			return;
		}
		if (b.len)
			memcpy(q->part->body + q->part_have, b.bytes, b.len);
		q->part_have += b.len;
		if (q->part_have == q->part->len)
			delivery_complete(r, q);
	}
}

/* Reads and handles one frame, waiting up to wait_ms for it.  Returns 1 when
 * one was handled, 0 when none came, -1 when the connection is gone. */
static int pump(struct rmq *r, long wait_ms)
{
	if (r->olen && send_pending(r) < 0)
		return -1;
	amqp_frame_t f;
	struct timeval tv = ms_tv(wait_ms);
	int st = amqp_simple_wait_frame_noblock(r->conn, &f, &tv);
	if (st == AMQP_STATUS_TIMEOUT)
		return 0;
	if (st != AMQP_STATUS_OK) {
		drop(r, "reading from the broker: %s", amqp_error_string2(st));
		return -1;
	}
	handle_frame(r, &f);
	if (!r->conn)
		return -1;
	/* Everything of the frame was copied: its memory can go. */
	amqp_maybe_release_buffers_on_channel(r->conn, f.channel);
	return 1;
}

/* Handles the frames rabbitmq-c set aside while waiting for a reply. */
static int pump_queued(struct rmq *r)
{
	while (r->conn && amqp_frames_enqueued(r->conn))
		if (pump(r, 0) < 0)
			return -1;
	return r->conn ? 0 : -1;
}

/* ---- connecting ---------------------------------------------------------- */

/* Whether a reply is the broker refusing a declare because the queue exists
 * with another x-queue-version. */
static int other_queue_version(amqp_rpc_reply_t rep)
{
	if (rep.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || rep.reply.id != AMQP_CHANNEL_CLOSE_METHOD)
		return 0;
	const amqp_channel_close_t *m = rep.reply.decoded;
	static const char needle[] = "x-queue-version";
	size_t n = sizeof needle - 1, len = m->reply_text.len;
	const char *text = m->reply_text.bytes;
	if (m->reply_code != AMQP_PRECONDITION_FAILED || !text)
		return 0;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(text + i, needle, n) == 0)
			return 1;
	return 0;
}

/* The broker closed the control channel (a declare it refused): accept the
 * close and open the channel again. */
static enum ddb_status reopen_control(struct rmq *r, struct ddb_err *err)
{
	amqp_channel_close_ok_t ok;
	memset(&ok, 0, sizeof ok);
	int rc = amqp_send_method(r->conn, CTL_CH, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
	if (rc != AMQP_STATUS_OK) {
		drop(r, "closing the control channel: %s", amqp_error_string2(rc));
		return unavailable(r, err, "declare");
	}
	amqp_channel_open(r->conn, CTL_CH);
	return check_rpc(r, "reopen the control channel", err);
}

/* Read-only: how many ready messages a queue holds, asked passively
 * (nothing is created); 0 for a queue that does not exist. */
static enum ddb_status passive_count(struct rmq *r, const char *name, uint64_t *count,
                                     struct ddb_err *err)
{
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "count of queue '%s'", name);
	*count = 0;
	amqp_queue_declare_ok_t *ok =
	    amqp_queue_declare(r->conn, CTL_CH, bytes_of(name), 1, 0, 0, 0, amqp_empty_table);
	amqp_rpc_reply_t rep = amqp_get_rpc_reply(r->conn);
	if (rep.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    rep.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
	    ((const amqp_channel_close_t *)rep.reply.decoded)->reply_code == AMQP_NOT_FOUND)
		return reopen_control(r, err); /* no such queue: nothing in it */
	enum ddb_status st = check_reply(r, rep, what, err);
	if (st == DDB_OK)
		*count = ok->message_count;
	return st;
}

/* A durable queue, of the configured x-queue-version when it is new; one
 * that exists with another version is taken as it is.  Read-only: only
 * asked after, passively. */
static enum ddb_status declare_on_broker(struct rmq *r, const char *name, struct ddb_err *err)
{
	if (r->readonly) {
		uint64_t count;
		return passive_count(r, name, &count, err);
	}
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "declare queue '%s'", name);
	amqp_table_entry_t version;
	memset(&version, 0, sizeof version);
	version.key = amqp_cstring_bytes("x-queue-version");
	version.value.kind = AMQP_FIELD_KIND_I32;
	version.value.value.i32 = (int32_t)r->queue_version;
	amqp_table_t args = { r->queue_version ? 1 : 0, &version };
	amqp_queue_declare(r->conn, CTL_CH, bytes_of(name), 0, 1, 0, 0, args);
	amqp_rpc_reply_t rep = amqp_get_rpc_reply(r->conn);
	if (other_queue_version(rep)) {
		enum ddb_status st = reopen_control(r, err);
		if (st != DDB_OK)
			return st;
		amqp_queue_declare(r->conn, CTL_CH, bytes_of(name), 1, 0, 0, 0, amqp_empty_table);
		rep = amqp_get_rpc_reply(r->conn);
	}
	return check_reply(r, rep, what, err);
}

/* A failed attempt: the next one waits twice as long. */
static enum ddb_status connect_failed(struct rmq *r, amqp_connection_state_t c,
                                      enum ddb_status st, struct ddb_err *err, const char *why)
{
	if (c)
		amqp_destroy_connection(c);
	snprintf(r->down_why, sizeof r->down_why, "%s", why);
	r->retry_at_ms = now_ms() + (double)r->backoff_ms;
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
	set_err(err, "rabbitmq transport: cannot connect to the broker %s as '%s': %s", r->where,
	        r->ci.user, why);
	return st;
}

static enum ddb_status do_connect(struct rmq *r, struct ddb_err *err)
{
	char why[200];
	amqp_connection_state_t c = amqp_new_connection();
	if (!c)
		return connect_failed(r, NULL, DDB_INTERNAL, err, "out of memory");
	amqp_socket_t *sock = amqp_tcp_socket_new(c);
	if (!sock)
		return connect_failed(r, c, DDB_INTERNAL, err, "cannot create a socket");
	struct timeval tv = ms_tv(r->timeout_ms);
	int rc = amqp_socket_open_noblock(sock, r->ci.host, r->ci.port, &tv);
	if (rc != AMQP_STATUS_OK)
		return connect_failed(r, c, DDB_UNAVAILABLE, err, amqp_error_string2(rc));
	amqp_set_handshake_timeout(c, &tv);
	amqp_set_rpc_timeout(c, &tv);

	/* Ask for basic.cancel when a queue we consume from is deleted. */
	amqp_table_entry_t cap = { .key = amqp_cstring_bytes("consumer_cancel_notify"),
		                   .value = { .kind = AMQP_FIELD_KIND_BOOLEAN, .value = { .boolean = 1 } } };
	amqp_table_entry_t props[2] = {
		{ .key = amqp_cstring_bytes("capabilities"),
		  .value = { .kind = AMQP_FIELD_KIND_TABLE, .value = { .table = { 1, &cap } } } },
		{ .key = amqp_cstring_bytes("product"),
		  .value = { .kind = AMQP_FIELD_KIND_UTF8,
		             .value = { .bytes = amqp_cstring_bytes("ddbsim rabbitmq transport") } } },
	};
	amqp_table_t client_props = { 2, props };
	amqp_rpc_reply_t rep = amqp_login_with_properties(c, r->ci.vhost, 0, FRAME_MAX, 0, &client_props,
	                                                  AMQP_SASL_METHOD_PLAIN, r->ci.user,
	                                                  r->ci.password);
	if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
		enum ddb_status st = describe_reply(rep, why, sizeof why);
		if (rep.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    rep.library_error == AMQP_STATUS_CONNECTION_CLOSED)
			snprintf(why, sizeof why, "login refused (the broker closed the connection: wrong "
			                          "user or password, or no such vhost?)");
		return connect_failed(r, c, st == DDB_OK ? DDB_INTERNAL : st, err, why);
	}
	static const amqp_channel_t open_ch[] = { CTL_CH, PUB_CH };
	for (size_t i = 0; i < 2; i++) {
		amqp_channel_open(c, open_ch[i]);
		rep = amqp_get_rpc_reply(c);
		if (rep.reply_type == AMQP_RESPONSE_NORMAL && open_ch[i] == PUB_CH) {
			amqp_confirm_select(c, PUB_CH);
			rep = amqp_get_rpc_reply(c);
		}
		if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
			describe_reply(rep, why, sizeof why);
			return connect_failed(r, c, DDB_UNAVAILABLE, err, why);
		}
	}
	r->conn = c;
	r->channel_max = amqp_get_channel_max(c);
	if (r->channel_max <= 0)
		r->channel_max = 65535;
	r->pub_seq = 0;
	r->low = 1;
	/* Queues known from before come back (empty, if the broker lost them). */
	for (size_t i = 0; i < r->nq; i++) {
		enum ddb_status st = declare_on_broker(r, r->queues[i]->name, err);
		if (st != DDB_OK) {
			r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
			return st;
		}
	}
	r->backoff_ms = BACKOFF_MIN_MS;
	release(r);
	return DDB_OK;
}

/* Connected, or DDB_UNAVAILABLE (the broker is down, or the backoff after
 * the last failure has not passed). */
static enum ddb_status ensure(struct rmq *r, const char *what, struct ddb_err *err)
{
	if (r->conn)
		return DDB_OK;
	double wait = r->retry_at_ms - now_ms();
	if (wait > 0) {
		set_err(err, "rabbitmq transport: %s: broker %s unavailable (%s); next attempt in %.0f ms",
		        what, r->where, r->down_why, wait);
		return DDB_UNAVAILABLE;
	}
	return do_connect(r, err);
}

/* ---- queue lookup ----------------------------------------------------------- */

static enum ddb_status check_name(const char *queue, struct ddb_err *err)
{
	if (!queue || !*queue) {
		set_err(err, "rabbitmq transport: queue name missing");
		return DDB_INVALID;
	}
	if (strlen(queue) > QUEUE_NAME_MAX) {
		set_err(err, "rabbitmq transport: queue name '%.40s...' longer than %d bytes", queue,
		        QUEUE_NAME_MAX);
		return DDB_INVALID;
	}
	if (strncmp(queue, "amq.", 4) == 0) {
		set_err(err, "rabbitmq transport: queue name '%s': names starting with 'amq.' are "
		             "reserved by the broker", queue);
		return DDB_INVALID;
	}
	return DDB_OK;
}

static struct queue *lookup(struct rmq *r, const char *queue)
{
	if (r->last && strcmp(r->last->name, queue) == 0)
		return r->last;
	for (size_t i = 0; i < r->nq; i++)
		if (strcmp(r->queues[i]->name, queue) == 0)
			return r->last = r->queues[i];
	return NULL;
}

/* The declared queue named `queue`, or NULL with *st and err filled. */
static struct queue *find(struct rmq *r, const char *queue, enum ddb_status *st,
                          struct ddb_err *err)
{
	if (!r) {
		set_err(err, "rabbitmq transport: no instance");
		*st = DDB_INVALID;
		return NULL;
	}
	if ((*st = check_name(queue, err)) != DDB_OK)
		return NULL;
	struct queue *q = lookup(r, queue);
	if (!q) {
		set_err(err, "rabbitmq transport: queue '%s' not declared", queue);
		*st = DDB_NOT_FOUND;
	}
	return q;
}

/* ---- acks -------------------------------------------------------------------- */

/* The lowest AMQP tag of a message still held (ready or unsettled), or
 * UINT64_MAX. */
static uint64_t lowest_held(struct queue *q)
{
	uint64_t low = q->ready.n ? (*fifo_at(&q->ready, 0))->amqp_tag : UINT64_MAX;
	for (size_t i = 0; i < q->out.n; i++) {
		struct entry *e = out_at(&q->out, i);
		if (e->m && e->m->amqp_tag < low)
			low = e->m->amqp_tag;
	}
	return low;
}

/* Sends the acks gathered for q. */
static enum ddb_status flush_acks(struct rmq *r, struct queue *q, struct ddb_err *err)
{
	if (!q->acks.n)
		return DDB_OK;
	if (!r->conn || !q->ch) {
		q->acks.n = 0;
		return DDB_OK;
	}
	if (r->olen && send_pending(r) < 0) {
		q->acks.n = 0;
		return unavailable(r, err, "ack");
	}
	uint64_t max = 0;
	for (size_t i = 0; i < q->acks.n; i++)
		if (q->acks.v[i] > max)
			max = q->acks.v[i];
	int rc = AMQP_STATUS_OK;
	if (max < lowest_held(q)) {
		/* Every unacked tag up to max at the broker is acked here. */
		rc = amqp_basic_ack(r->conn, q->ch, max, 1);
	} else {
		for (size_t i = 0; i < q->acks.n && rc == AMQP_STATUS_OK; i++)
			rc = amqp_basic_ack(r->conn, q->ch, q->acks.v[i], 0);
	}
	q->acks.n = 0;
	if (rc != AMQP_STATUS_OK) {
		drop(r, "sending acks: %s", amqp_error_string2(rc));
		return unavailable(r, err, "ack");
	}
	return DDB_OK;
}

/* ---- operations ------------------------------------------------------------ */

static enum ddb_status parse_uint(const char *key, const char *value, uint64_t min, uint64_t max,
                                  uint64_t *out, struct ddb_err *err)
{
	const char *p = value;
	while (*p == ' ' || *p == '\t')
		p++;
	unsigned long long v = 0;
	int ok = *p >= '0' && *p <= '9';
	if (ok) {
		char *end = NULL;
		errno = 0;
		v = strtoull(p, &end, 10);
		ok = errno == 0 && end != NULL;
		while (ok && (*end == ' ' || *end == '\t'))
			end++;
		ok = ok && *end == '\0' && v >= min && v <= max;
	}
	if (!ok) {
		set_err(err, "rabbitmq transport: option %s = '%s': not a whole number from %llu to %llu",
		        key, value, (unsigned long long)min, (unsigned long long)max);
		return DDB_INVALID;
	}
	*out = v;
	return DDB_OK;
}

static void rmq_free(struct rmq *r)
{
	for (size_t i = 0; i < r->nq; i++)
		queue_free(r->queues[i]);
	free(r->queues);
	free(r->settled);
	free(r->obuf);
	free(r->url);
	free(r);
}

static enum ddb_status rmq_open(const struct ddb_open_args *args, void **handle,
                                struct ddb_err *err)
{
	if (!handle) {
		set_err(err, "rabbitmq transport: open without a handle to fill");
		return DDB_INVALID;
	}
	*handle = NULL;
	const char *url = args ? ddb_option_get(args, "url", DEFAULT_URL) : DEFAULT_URL;
	uint64_t prefetch = 4096, window = 8192, timeout = 10000, version = 2;
	enum ddb_status st = DDB_OK;
	const char *v;
	if (args && (v = ddb_option_get(args, "prefetch", NULL)))
		st = parse_uint("prefetch", v, 1, 65535, &prefetch, err);
	if (st == DDB_OK && args && (v = ddb_option_get(args, "confirm_window", NULL)))
		st = parse_uint("confirm_window", v, 1, 1000000, &window, err);
	if (st == DDB_OK && args && (v = ddb_option_get(args, "timeout_ms", NULL)))
		st = parse_uint("timeout_ms", v, 1, 3600000, &timeout, err);
	if (st == DDB_OK && args && (v = ddb_option_get(args, "queue_version", NULL)))
		st = parse_uint("queue_version", v, 0, 2, &version, err);
	if (st != DDB_OK)
		return st;

	struct rmq *r = calloc(1, sizeof *r);
	if (!r)
		return oom(err, "instance");
	r->prefetch = (unsigned)prefetch;
	r->window = window;
	r->timeout_ms = (long)timeout;
	r->queue_version = (unsigned)version;
	r->readonly = args && (args->flags & DDB_OPEN_READONLY);
	r->backoff_ms = BACKOFF_MIN_MS;
	r->low = 1;
	uint64_t ring = 1;
	while (ring <= window)
		ring *= 2;
	r->ring_mask = ring - 1;
	r->settled = calloc((size_t)ring, 1);
	r->url = strdup(url);
	if (!r->settled || !r->url) {
		rmq_free(r);
		return oom(err, "instance");
	}
	if (amqp_parse_url(r->url, &r->ci) != AMQP_STATUS_OK) {
		/* No echo of the URL: it may hold a password. */
		set_err(err, "rabbitmq transport: option url: not an amqp://user:password@host:port/vhost "
		             "URL");
		rmq_free(r);
		return DDB_INVALID;
	}
	if (r->ci.ssl) {
		set_err(err, "rabbitmq transport: option url: amqps:// (TLS) is not supported");
		rmq_free(r);
		return DDB_INVALID;
	}
	if (!*r->ci.vhost)
		r->ci.vhost = "/"; /* "amqp://host:port/": there is no vhost "" */
	snprintf(r->where, sizeof r->where, "%s:%d vhost '%s'", r->ci.host, r->ci.port, r->ci.vhost);
	st = do_connect(r, err);
	if (st != DDB_OK) {
		rmq_free(r);
		return st;
	}
	*handle = r;
	return DDB_OK;
}

static void rmq_close(void *handle)
{
	struct rmq *r = handle;
	if (!r)
		return;
	if (r->conn) {
		for (size_t i = 0; i < r->nq && r->conn; i++)
			(void)flush_acks(r, r->queues[i], NULL);
		if (r->conn && r->olen)
			(void)send_pending(r);
		if (r->conn) {
			/* Whatever it held unacked goes back to its queue. */
			(void)amqp_connection_close(r->conn, AMQP_REPLY_SUCCESS);
			amqp_destroy_connection(r->conn);
			r->conn = NULL;
		}
	}
	rmq_free(r);
}

static enum ddb_status rmq_reset(void *handle, struct ddb_err *err)
{
	struct rmq *r = handle;
	if (!r) {
		set_err(err, "rabbitmq transport: no instance");
		return DDB_INVALID;
	}
	if (r->readonly)
		return refuse_readonly(r, "reset", err);
	enum ddb_status st = ensure(r, "reset", err);
	if (st != DDB_OK)
		return st;
	if (r->olen && send_pending(r) < 0)
		return unavailable(r, err, "reset");
	/* Close the consumer channels first: what they held goes back to the
	 * queues, which are deleted next.  Frames of those channels that
	 * rabbitmq-c set aside meanwhile are read and ignored before the
	 * channel numbers can be used again. */
	for (size_t i = 0; i < r->nq; i++) {
		struct queue *q = r->queues[i];
		if (!q->ch)
			continue;
		amqp_channel_t ch = q->ch;
		q->ch = 0;
		q->consuming = 0;
		st = check_reply(r, amqp_channel_close(r->conn, ch, AMQP_REPLY_SUCCESS), "reset: close channel",
		                 err);
		if (st != DDB_OK)
			return st;
	}
	if (pump_queued(r) < 0)
		return unavailable(r, err, "reset");
	for (size_t i = 0; i < r->nq; i++) {
		const char *name = r->queues[i]->name;
		amqp_queue_delete(r->conn, CTL_CH, bytes_of(name), 0, 0);
		char what[QUEUE_NAME_MAX + 32];
		snprintf(what, sizeof what, "reset: delete queue '%s'", name);
		st = check_rpc(r, what, err);
		if (st != DDB_OK)
			return st;
	}
	for (size_t i = 0; i < r->nq; i++)
		queue_free(r->queues[i]);
	r->nq = 0;
	r->last = NULL;
	release(r);
	return DDB_OK;
}

static enum ddb_status rmq_declare(void *handle, const char *queue, struct ddb_err *err)
{
	struct rmq *r = handle;
	if (!r) {
		set_err(err, "rabbitmq transport: no instance");
		return DDB_INVALID;
	}
	enum ddb_status st = check_name(queue, err);
	if (st != DDB_OK)
		return st;
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "declare queue '%s'", queue);
	if ((st = ensure(r, what, err)) != DDB_OK)
		return st;
	if (r->olen && send_pending(r) < 0)
		return unavailable(r, err, what);
	if ((st = declare_on_broker(r, queue, err)) != DDB_OK)
		return st;
	release(r);
	if (lookup(r, queue))
		return DDB_OK;
	if (r->nq == r->capq) {
		size_t cap = r->capq ? r->capq * 2 : 8;
		struct queue **qs = realloc(r->queues, cap * sizeof *qs);
		if (!qs)
			return oom(err, "queue table");
		r->queues = qs;
		r->capq = cap;
	}
	struct queue *q = calloc(1, sizeof *q);
	if (!q || !(q->name = strdup(queue))) {
		free(q);
		return oom(err, "queue");
	}
	r->queues[r->nq++] = q;
	r->last = q;
	return DDB_OK;
}

static enum ddb_status rmq_publish(void *handle, const char *queue, const void *body, size_t len,
                                   struct ddb_err *err)
{
	struct rmq *r = handle;
	enum ddb_status st;
	struct queue *q = find(r, queue, &st, err);
	if (!q)
		return st;
	if (r->readonly)
		return refuse_readonly(r, "publish", err);
	if (len && !body) {
		set_err(err, "rabbitmq transport: publish to '%s': no body for %zu bytes", queue, len);
		return DDB_INVALID;
	}
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "publish to '%s'", queue);
	/* A publish that fails was not sent: the caller knows it.  Publishes
	 * that went out before it and may be lost with the connection fail
	 * the next confirm (drop() marks them). */
	if ((st = ensure(r, what, err)) != DDB_OK)
		return st;
	/* The window: read confirms until there is room. */
	double deadline = now_ms() + (double)r->timeout_ms;
	while (r->conn && r->pub_seq - r->low + 1 >= r->window) {
		double left = deadline - now_ms();
		if (left <= 0) {
			drop(r, "no publisher confirm within %ld ms", r->timeout_ms);
			break;
		}
		pump(r, (long)left + 1);
	}
	if (!r->conn)
		return unavailable(r, err, what);
	size_t before = r->olen;
	if ((st = encode_publish(r, q->name, body, len, err)) != DDB_OK) {
		r->olen = before;
		return st;
	}
	if (r->olen >= SEND_AT && send_pending(r) < 0)
		return unavailable(r, err, what); /* drop() failed the earlier ones */
	r->pub_seq++;
	r->settled[r->pub_seq & r->ring_mask] = 0;
	return DDB_OK;
}

static enum ddb_status rmq_confirm(void *handle, struct ddb_err *err)
{
	struct rmq *r = handle;
	if (!r) {
		set_err(err, "rabbitmq transport: no instance");
		return DDB_INVALID;
	}
	double deadline = now_ms() + (double)r->timeout_ms;
	while (r->conn && r->low <= r->pub_seq) {
		double left = deadline - now_ms();
		if (left <= 0) {
			drop(r, "no publisher confirm within %ld ms", r->timeout_ms);
			break;
		}
		pump(r, (long)left + 1);
	}
	if (r->failed) {
		r->failed = 0;
		set_err(err, "rabbitmq transport: confirm: %s", r->failed_why);
		return DDB_UNAVAILABLE;
	}
	return DDB_OK;
}

static amqp_channel_t free_channel(struct rmq *r)
{
	for (int ch = FIRST_CONSUMER_CH; ch <= r->channel_max; ch++) {
		int used = 0;
		for (size_t i = 0; i < r->nq && !used; i++)
			used = r->queues[i]->ch == ch;
		if (!used)
			return (amqp_channel_t)ch;
	}
	return 0;
}

static enum ddb_status start_consumer(struct rmq *r, struct queue *q, struct ddb_err *err)
{
	enum ddb_status st;
	if (r->olen && send_pending(r) < 0)
		return unavailable(r, err, "consume");
	if (!q->ch) {
		amqp_channel_t ch = free_channel(r);
		if (!ch) {
			set_err(err, "rabbitmq transport: receive from '%s': no free channel (the broker allows "
			             "%d per connection)", q->name, r->channel_max);
			return DDB_INTERNAL;
		}
		amqp_channel_open(r->conn, ch);
		if ((st = check_rpc(r, "open a consumer channel", err)) != DDB_OK)
			return st;
		q->ch = ch;
		amqp_basic_qos(r->conn, ch, 0, (uint16_t)r->prefetch, 0);
		if ((st = check_rpc(r, "set the prefetch (basic.qos)", err)) != DDB_OK)
			return st;
	}
	amqp_basic_consume(r->conn, q->ch, bytes_of(q->name), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "consume from '%s'", q->name);
	if ((st = check_rpc(r, what, err)) != DDB_OK)
		return st;
	q->consuming = 1;
	release(r);
	return DDB_OK;
}

static enum ddb_status rmq_receive(void *handle, const char *queue, struct ddb_delivery *out,
                                   size_t max, size_t *n_out, struct ddb_err *err)
{
	struct rmq *r = handle;
	enum ddb_status st;
	if (n_out)
		*n_out = 0;
	struct queue *q = find(r, queue, &st, err);
	if (!q)
		return st;
	if (r->readonly)
		return refuse_readonly(r, "receive", err);
	if (!n_out || (max && !out)) {
		set_err(err, "rabbitmq transport: receive from '%s': no room for deliveries", queue);
		return DDB_INVALID;
	}
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "receive from '%s'", queue);
	if ((st = ensure(r, what, err)) != DDB_OK)
		return st;
	if ((st = flush_acks(r, q, err)) != DDB_OK)
		return st;
	if (!q->consuming && (st = start_consumer(r, q, err)) != DDB_OK)
		return st;
	/* Whatever has arrived, without waiting. */
	while (q->ready.n < max && pump(r, 0) > 0)
		;
	if (!r->conn)
		return unavailable(r, err, what);
	size_t n = max < q->ready.n ? max : q->ready.n;
	if (n == 0)
		return DDB_OK;
	if (out_reserve(&q->out, n) != 0)
		return oom(err, "deliveries");
	for (size_t i = 0; i < n; i++) {
		struct msg *m = fifo_pop(&q->ready);
		struct entry *e = out_at(&q->out, q->out.n++);
		e->tag = ++r->next_tag;
		e->m = m;
		q->unacked++;
		out[i].tag = e->tag;
		out[i].body = m->body;
		out[i].len = m->len;
		out[i].redelivered = m->redelivered;
	}
	*n_out = n;
	return DDB_OK;
}

/* The unsettled delivery `tag` of q, or NULL with *st and err filled. */
static struct entry *find_delivery(struct queue *q, uint64_t tag, enum ddb_status *st,
                                   struct ddb_err *err)
{
	struct entry *e = out_find(&q->out, tag);
	if (e)
		return e;
	/* Lost with a connection: the broker delivers the message again. */
	size_t lo = 0, hi = q->lost.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->lost.v[mid] < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < q->lost.n && q->lost.v[lo] == tag) {
		memmove(&q->lost.v[lo], &q->lost.v[lo + 1], (q->lost.n - lo - 1) * sizeof *q->lost.v);
		q->lost.n--;
		set_err(err, "rabbitmq transport: queue '%s': delivery %llu was lost with the connection to "
		             "the broker; the broker delivers the message again", q->name,
		        (unsigned long long)tag);
		*st = DDB_UNAVAILABLE;
		return NULL;
	}
	set_err(err, "rabbitmq transport: queue '%s' has no unacked delivery with tag %llu", q->name,
	        (unsigned long long)tag);
	*st = DDB_NOT_FOUND;
	return NULL;
}

static enum ddb_status rmq_ack(void *handle, const char *queue, uint64_t tag, struct ddb_err *err)
{
	struct rmq *r = handle;
	enum ddb_status st;
	struct queue *q = find(r, queue, &st, err);
	if (!q)
		return st;
	struct entry *e = find_delivery(q, tag, &st, err);
	if (!e)
		return st;
	if (u64s_push(&q->acks, e->m->amqp_tag) != 0)
		return oom(err, "acks");
	free(e->m);
	e->m = NULL;
	q->unacked--;
	out_trim(&q->out, q->unacked);
	if (q->unacked == 0 || q->acks.n >= ACK_BATCH)
		return flush_acks(r, q, err);
	return DDB_OK;
}

static enum ddb_status rmq_reject(void *handle, const char *queue, uint64_t tag, int requeue,
                                  struct ddb_err *err)
{
	struct rmq *r = handle;
	enum ddb_status st;
	struct queue *q = find(r, queue, &st, err);
	if (!q)
		return st;
	struct entry *e = find_delivery(q, tag, &st, err);
	if (!e)
		return st;
	struct msg *m = e->m;
	if (requeue) {
		/* Back into the local buffer, at its place; still unacked at
		 * the broker. */
		if (fifo_reserve(&q->ready, 1) != 0)
			return oom(err, "requeue");
		m->redelivered = 1;
		fifo_insert(&q->ready, m);
	} else {
		int rc = r->olen && send_pending(r) < 0 ? AMQP_STATUS_SOCKET_ERROR
		                                        : amqp_basic_reject(r->conn, q->ch, m->amqp_tag, 0);
		if (!r->conn)
			return unavailable(r, err, "reject");
		if (rc != AMQP_STATUS_OK) {
			drop(r, "rejecting: %s", amqp_error_string2(rc));
			return unavailable(r, err, "reject");
		}
		free(m);
	}
	e->m = NULL;
	q->unacked--;
	out_trim(&q->out, q->unacked);
	if (q->unacked == 0)
		return flush_acks(r, q, err);
	return DDB_OK;
}

static enum ddb_status rmq_recover(void *handle, const char *queue, struct ddb_err *err)
{
	struct rmq *r = handle;
	enum ddb_status st;
	struct queue *q = find(r, queue, &st, err);
	if (!q)
		return st;
	if (r->readonly)
		return refuse_readonly(r, "recover", err);
	if (!q->unacked)
		return flush_acks(r, q, err);
	if (fifo_reserve(&q->ready, q->unacked) != 0)
		return oom(err, "recover");
	for (size_t i = 0; i < q->out.n; i++) {
		struct entry *e = out_at(&q->out, i);
		if (!e->m)
			continue;
		e->m->redelivered = 1;
		fifo_insert(&q->ready, e->m);
		e->m = NULL;
	}
	q->unacked = 0;
	out_trim(&q->out, q->unacked);
	return flush_acks(r, q, err);
}

static enum ddb_status rmq_depth(void *handle, const char *queue, uint64_t *ready,
                                 uint64_t *unacked, struct ddb_err *err)
{
	struct rmq *r = handle;
	enum ddb_status st;
	struct queue *q = find(r, queue, &st, err);
	if (!q)
		return st;
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "depth of '%s'", queue);
	if (r->readonly) {
		uint64_t n = 0;
		if ((st = ensure(r, what, err)) != DDB_OK ||
		    (st = passive_count(r, q->name, &n, err)) != DDB_OK)
			return st;
		release(r);
		if (ready)
			*ready = n;
		if (unacked)
			*unacked = 0;
		return DDB_OK;
	}
	if ((st = ensure(r, what, err)) != DDB_OK || (st = flush_acks(r, q, err)) != DDB_OK)
		return st;
	if (r->olen && send_pending(r) < 0)
		return unavailable(r, err, what);
	amqp_queue_declare_ok_t *ok =
	    amqp_queue_declare(r->conn, CTL_CH, bytes_of(q->name), 1, 0, 0, 0, amqp_empty_table);
	if ((st = check_rpc(r, what, err)) != DDB_OK)
		return st;
	uint64_t at_broker = ok->message_count;
	if (q->ch && q->consuming) {
		/* What the broker sent the consumer before the count is in
		 * by the time this round trip on its channel is back. */
		amqp_basic_qos(r->conn, q->ch, 0, (uint16_t)r->prefetch, 0);
		if ((st = check_rpc(r, what, err)) != DDB_OK)
			return st;
	}
	if (pump_queued(r) < 0)
		return unavailable(r, err, what);
	release(r);
	if (ready)
		*ready = at_broker + q->ready.n;
	if (unacked)
		*unacked = q->unacked;
	return DDB_OK;
}

static const struct ddb_transport_ops rabbitmq_ops = {
	.open = rmq_open,
	.close = rmq_close,
	.reset = rmq_reset,
	.declare = rmq_declare,
	.publish = rmq_publish,
	.confirm = rmq_confirm,
	.receive = rmq_receive,
	.ack = rmq_ack,
	.reject = rmq_reject,
	.recover = rmq_recover,
	.depth = rmq_depth,
};

/* The options open() reads (the core refuses others). */
static const char *const option_keys[] = {
	"url", "prefetch", "confirm_window", "timeout_ms", "queue_version", NULL
};

static const struct ddb_plugin rabbitmq_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_TRANSPORT,
	.name = "rabbitmq",
	.version = RMQ_VERSION,
	.caps = DDB_TRANSPORT_DURABLE,
	.storage = NULL,
	.transport = &rabbitmq_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &rabbitmq_plugin;
}
