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
 * (rconn_pump) that copies each delivery's body into memory of our own, in
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
 * The files: rabbitmq.c (this one) holds the operations and the descriptor;
 * rmq_conn.c the connection (connecting, reconnecting, channels, reading
 * frames, publisher confirms, encoding publishes); rmq_buffer.c the queues'
 * local buffers; rabbitmq_int.h what they share.
 *
 * An instance is not thread safe: the engine calls it from one thread.
 */
#include "rabbitmq_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a read-only instance answers to an operation that would change
 * something. */
static enum ddb_status refuse_readonly(const struct rmq *r, const char *what, struct ddb_err *err)
{
	(void)r;
	rconn_set_err(err, "rabbitmq transport: %s: opened read-only", what);
	return DDB_INVALID;
}

/* ---- queue lookup ----------------------------------------------------------- */

static enum ddb_status check_name(const char *queue, struct ddb_err *err)
{
	if (!queue || !*queue) {
		rconn_set_err(err, "rabbitmq transport: queue name missing");
		return DDB_INVALID;
	}
	if (strlen(queue) > QUEUE_NAME_MAX) {
		rconn_set_err(err, "rabbitmq transport: queue name '%.40s...' longer than %d bytes", queue,
		              QUEUE_NAME_MAX);
		return DDB_INVALID;
	}
	if (strncmp(queue, "amq.", 4) == 0) {
		rconn_set_err(err, "rabbitmq transport: queue name '%s': names starting with 'amq.' are "
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
		rconn_set_err(err, "rabbitmq transport: no instance");
		*st = DDB_INVALID;
		return NULL;
	}
	if ((*st = check_name(queue, err)) != DDB_OK)
		return NULL;
	struct queue *q = lookup(r, queue);
	if (!q) {
		rconn_set_err(err, "rabbitmq transport: queue '%s' not declared", queue);
		*st = DDB_NOT_FOUND;
	}
	return q;
}

/* ---- acks -------------------------------------------------------------------- */

/* The lowest AMQP tag of a message still held (ready or unsettled), or
 * UINT64_MAX. */
static uint64_t lowest_held(struct queue *q)
{
	uint64_t low = q->ready.n ? (*rbuf_fifo_at(&q->ready, 0))->amqp_tag : UINT64_MAX;
	for (size_t i = 0; i < q->out.n; i++) {
		struct entry *e = rbuf_out_at(&q->out, i);
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
	if (r->olen && rconn_send_pending(r) < 0) {
		q->acks.n = 0;
		return rconn_unavailable(r, err, "ack");
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
		rconn_drop(r, "sending acks: %s", amqp_error_string2(rc));
		return rconn_unavailable(r, err, "ack");
	}
	return DDB_OK;
}

/* ---- operations ------------------------------------------------------------ */

static void rmq_free(struct rmq *r)
{
	for (size_t i = 0; i < r->nq; i++)
		rbuf_queue_free(r->queues[i]);
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
		rconn_set_err(err, "rabbitmq transport: open without a handle to fill");
		return DDB_INVALID;
	}
	*handle = NULL;
	const char *url = args ? ddb_option_get(args, "url", DEFAULT_URL) : DEFAULT_URL;
	long prefetch = 4096, window = 8192, timeout = 10000, version = 2;
	if (args) {
		struct ddb_err why;
		if (ddb_option_long(args, "prefetch", 4096, 1, 65535, &prefetch, &why) != DDB_OK ||
		    ddb_option_long(args, "confirm_window", 8192, 1, 1000000, &window, &why) != DDB_OK ||
		    ddb_option_long(args, "timeout_ms", 10000, 1, 3600000, &timeout, &why) != DDB_OK ||
		    ddb_option_long(args, "queue_version", 2, 0, 2, &version, &why) != DDB_OK) {
			rconn_set_err(err, "rabbitmq transport: %s", why.msg);
			return DDB_INVALID;
		}
	}
	enum ddb_status st;

	struct rmq *r = calloc(1, sizeof *r);
	if (!r)
		return rconn_oom(err, "instance");
	r->prefetch = (unsigned)prefetch;
	r->window = window;
	r->timeout_ms = (long)timeout;
	r->queue_version = (unsigned)version;
	r->readonly = args && (args->flags & DDB_OPEN_READONLY);
	r->backoff_ms = BACKOFF_MIN_MS;
	r->low = 1;
	uint64_t ring = 1;
	while (ring <= (uint64_t)window)
		ring *= 2;
	r->ring_mask = ring - 1;
	r->settled = calloc((size_t)ring, 1);
	r->url = strdup(url);
	if (!r->settled || !r->url) {
		rmq_free(r);
		return rconn_oom(err, "instance");
	}
	if (amqp_parse_url(r->url, &r->ci) != AMQP_STATUS_OK) {
		/* No echo of the URL: it may hold a password. */
		rconn_set_err(err, "rabbitmq transport: option url: not an amqp://user:password@host:port/vhost "
		             "URL");
		rmq_free(r);
		return DDB_INVALID;
	}
	if (r->ci.ssl) {
		rconn_set_err(err, "rabbitmq transport: option url: amqps:// (TLS) is not supported");
		rmq_free(r);
		return DDB_INVALID;
	}
	if (!*r->ci.vhost)
		r->ci.vhost = "/"; /* "amqp://host:port/": there is no vhost "" */
	snprintf(r->where, sizeof r->where, "%s:%d vhost '%s'", r->ci.host, r->ci.port, r->ci.vhost);
	st = rconn_connect(r, err);
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
			(void)rconn_send_pending(r);
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
		rconn_set_err(err, "rabbitmq transport: no instance");
		return DDB_INVALID;
	}
	if (r->readonly)
		return refuse_readonly(r, "reset", err);
	enum ddb_status st = rconn_ensure(r, "reset", err);
	if (st != DDB_OK)
		return st;
	if (r->olen && rconn_send_pending(r) < 0)
		return rconn_unavailable(r, err, "reset");
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
		st = rconn_check_reply(r, amqp_channel_close(r->conn, ch, AMQP_REPLY_SUCCESS), "reset: close channel",
		                       err);
		if (st != DDB_OK)
			return st;
	}
	if (rconn_pump_queued(r) < 0)
		return rconn_unavailable(r, err, "reset");
	for (size_t i = 0; i < r->nq; i++) {
		const char *name = r->queues[i]->name;
		amqp_queue_delete(r->conn, CTL_CH, rconn_bytes_of(name), 0, 0);
		char what[QUEUE_NAME_MAX + 32];
		snprintf(what, sizeof what, "reset: delete queue '%s'", name);
		st = rconn_check_rpc(r, what, err);
		if (st != DDB_OK)
			return st;
	}
	for (size_t i = 0; i < r->nq; i++)
		rbuf_queue_free(r->queues[i]);
	r->nq = 0;
	r->last = NULL;
	rconn_release(r);
	return DDB_OK;
}

static enum ddb_status rmq_declare(void *handle, const char *queue, struct ddb_err *err)
{
	struct rmq *r = handle;
	if (!r) {
		rconn_set_err(err, "rabbitmq transport: no instance");
		return DDB_INVALID;
	}
	enum ddb_status st = check_name(queue, err);
	if (st != DDB_OK)
		return st;
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "declare queue '%s'", queue);
	if ((st = rconn_ensure(r, what, err)) != DDB_OK)
		return st;
	if (r->olen && rconn_send_pending(r) < 0)
		return rconn_unavailable(r, err, what);
	if ((st = rconn_declare_on_broker(r, queue, err)) != DDB_OK)
		return st;
	rconn_release(r);
	if (lookup(r, queue))
		return DDB_OK;
	if (r->nq == r->capq) {
		size_t cap = r->capq ? r->capq * 2 : 8;
		struct queue **qs = realloc(r->queues, cap * sizeof *qs);
		if (!qs)
			return rconn_oom(err, "queue table");
		r->queues = qs;
		r->capq = cap;
	}
	struct queue *q = calloc(1, sizeof *q);
	if (!q || !(q->name = strdup(queue))) {
		free(q);
		return rconn_oom(err, "queue");
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
		rconn_set_err(err, "rabbitmq transport: publish to '%s': no body for %zu bytes", queue, len);
		return DDB_INVALID;
	}
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "publish to '%s'", queue);
	/* A publish that fails was not sent: the caller knows it.  Publishes
	 * that went out before it and may be lost with the connection fail
	 * the next confirm (rconn_drop() marks them). */
	if ((st = rconn_ensure(r, what, err)) != DDB_OK)
		return st;
	/* The window: read confirms until there is room. */
	double deadline = rconn_now_ms() + (double)r->timeout_ms;
	while (r->conn && r->pub_seq - r->low + 1 >= r->window) {
		double left = deadline - rconn_now_ms();
		if (left <= 0) {
			rconn_drop(r, "no publisher confirm within %ld ms", r->timeout_ms);
			break;
		}
		rconn_pump(r, (long)left + 1);
	}
	if (!r->conn)
		return rconn_unavailable(r, err, what);
	size_t before = r->olen;
	if ((st = rconn_encode_publish(r, q->name, body, len, err)) != DDB_OK) {
		r->olen = before;
		return st;
	}
	if (r->olen >= SEND_AT && rconn_send_pending(r) < 0)
		return rconn_unavailable(r, err, what); /* rconn_drop() failed the earlier ones */
	r->pub_seq++;
	r->settled[r->pub_seq & r->ring_mask] = 0;
	return DDB_OK;
}

static enum ddb_status rmq_confirm(void *handle, struct ddb_err *err)
{
	struct rmq *r = handle;
	if (!r) {
		rconn_set_err(err, "rabbitmq transport: no instance");
		return DDB_INVALID;
	}
	double deadline = rconn_now_ms() + (double)r->timeout_ms;
	while (r->conn && r->low <= r->pub_seq) {
		double left = deadline - rconn_now_ms();
		if (left <= 0) {
			rconn_drop(r, "no publisher confirm within %ld ms", r->timeout_ms);
			break;
		}
		rconn_pump(r, (long)left + 1);
	}
	if (r->failed) {
		r->failed = 0;
		rconn_set_err(err, "rabbitmq transport: confirm: %s", r->failed_why);
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
	if (r->olen && rconn_send_pending(r) < 0)
		return rconn_unavailable(r, err, "consume");
	if (!q->ch) {
		amqp_channel_t ch = free_channel(r);
		if (!ch) {
			rconn_set_err(err, "rabbitmq transport: receive from '%s': no free channel (the broker allows "
			             "%d per connection)", q->name, r->channel_max);
			return DDB_INTERNAL;
		}
		amqp_channel_open(r->conn, ch);
		if ((st = rconn_check_rpc(r, "open a consumer channel", err)) != DDB_OK)
			return st;
		q->ch = ch;
		amqp_basic_qos(r->conn, ch, 0, (uint16_t)r->prefetch, 0);
		if ((st = rconn_check_rpc(r, "set the prefetch (basic.qos)", err)) != DDB_OK)
			return st;
	}
	amqp_basic_consume(r->conn, q->ch, rconn_bytes_of(q->name), amqp_empty_bytes, 0, 0, 0,
	                   amqp_empty_table);
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "consume from '%s'", q->name);
	if ((st = rconn_check_rpc(r, what, err)) != DDB_OK)
		return st;
	q->consuming = 1;
	rconn_release(r);
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
		rconn_set_err(err, "rabbitmq transport: receive from '%s': no room for deliveries", queue);
		return DDB_INVALID;
	}
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "receive from '%s'", queue);
	if ((st = rconn_ensure(r, what, err)) != DDB_OK)
		return st;
	if ((st = flush_acks(r, q, err)) != DDB_OK)
		return st;
	if (!q->consuming && (st = start_consumer(r, q, err)) != DDB_OK)
		return st;
	/* Whatever has arrived, without waiting. */
	while (q->ready.n < max && rconn_pump(r, 0) > 0)
		;
	if (!r->conn)
		return rconn_unavailable(r, err, what);
	size_t n = max < q->ready.n ? max : q->ready.n;
	if (n == 0)
		return DDB_OK;
	if (rbuf_out_reserve(&q->out, n) != 0)
		return rconn_oom(err, "deliveries");
	for (size_t i = 0; i < n; i++) {
		struct msg *m = rbuf_fifo_pop(&q->ready);
		struct entry *e = rbuf_out_at(&q->out, q->out.n++);
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
	struct entry *e = rbuf_out_find(&q->out, tag);
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
		rconn_set_err(err, "rabbitmq transport: queue '%s': delivery %llu was lost with the connection to "
		             "the broker; the broker delivers the message again", q->name,
		              (unsigned long long)tag);
		*st = DDB_UNAVAILABLE;
		return NULL;
	}
	rconn_set_err(err, "rabbitmq transport: queue '%s' has no unacked delivery with tag %llu", q->name,
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
	if (rbuf_u64s_push(&q->acks, e->m->amqp_tag) != 0)
		return rconn_oom(err, "acks");
	free(e->m);
	e->m = NULL;
	q->unacked--;
	rbuf_out_trim(&q->out, q->unacked);
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
		if (rbuf_fifo_reserve(&q->ready, 1) != 0)
			return rconn_oom(err, "requeue");
		m->redelivered = 1;
		rbuf_fifo_insert(&q->ready, m);
	} else {
		int rc = r->olen && rconn_send_pending(r) < 0 ? AMQP_STATUS_SOCKET_ERROR
		                                        : amqp_basic_reject(r->conn, q->ch, m->amqp_tag, 0);
		if (!r->conn)
			return rconn_unavailable(r, err, "reject");
		if (rc != AMQP_STATUS_OK) {
			rconn_drop(r, "rejecting: %s", amqp_error_string2(rc));
			return rconn_unavailable(r, err, "reject");
		}
		free(m);
	}
	e->m = NULL;
	q->unacked--;
	rbuf_out_trim(&q->out, q->unacked);
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
	if (rbuf_fifo_reserve(&q->ready, q->unacked) != 0)
		return rconn_oom(err, "recover");
	for (size_t i = 0; i < q->out.n; i++) {
		struct entry *e = rbuf_out_at(&q->out, i);
		if (!e->m)
			continue;
		e->m->redelivered = 1;
		rbuf_fifo_insert(&q->ready, e->m);
		e->m = NULL;
	}
	q->unacked = 0;
	rbuf_out_trim(&q->out, q->unacked);
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
		if ((st = rconn_ensure(r, what, err)) != DDB_OK ||
		    (st = rconn_passive_count(r, q->name, &n, err)) != DDB_OK)
			return st;
		rconn_release(r);
		if (ready)
			*ready = n;
		if (unacked)
			*unacked = 0;
		return DDB_OK;
	}
	if ((st = rconn_ensure(r, what, err)) != DDB_OK || (st = flush_acks(r, q, err)) != DDB_OK)
		return st;
	if (r->olen && rconn_send_pending(r) < 0)
		return rconn_unavailable(r, err, what);
	amqp_queue_declare_ok_t *ok =
	    amqp_queue_declare(r->conn, CTL_CH, rconn_bytes_of(q->name), 1, 0, 0, 0, amqp_empty_table);
	if ((st = rconn_check_rpc(r, what, err)) != DDB_OK)
		return st;
	uint64_t at_broker = ok->message_count;
	if (q->ch && q->consuming) {
		/* What the broker sent the consumer before the count is in
		 * by the time this round trip on its channel is back. */
		amqp_basic_qos(r->conn, q->ch, 0, (uint16_t)r->prefetch, 0);
		if ((st = rconn_check_rpc(r, what, err)) != DDB_OK)
			return st;
	}
	if (rconn_pump_queued(r) < 0)
		return rconn_unavailable(r, err, what);
	rconn_release(r);
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

