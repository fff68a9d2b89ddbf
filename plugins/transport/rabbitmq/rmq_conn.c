/*
 * rmq_conn.c - the connection of the RabbitMQ transport: connecting (login,
 * the control and publishing channels, confirm mode), reconnecting with
 * backoff after a loss, re-declaring the known queues, checking the replies
 * of synchronous methods, encoding publishes into the instance's buffer and
 * writing it, and reading every frame (pump): deliveries into the queues'
 * local buffers (rmq_buffer.c), publisher confirms, returns and closes.
 * rabbitmq.c's overview describes the protocol; its operations call these.
 */
#include "rabbitmq_int.h"

#include <amqp_tcp_socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

PRINTF_LIKE(2, 3)
void rconn_set_err(struct ddb_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

enum ddb_status rconn_oom(struct ddb_err *err, const char *what)
{
	rconn_set_err(err, "rabbitmq transport: out of memory (%s)", what);
	return DDB_INTERNAL;
}

double rconn_now_ms(void)
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

amqp_bytes_t rconn_bytes_of(const char *s)
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

/* Forgets the connection: everything it held locally is gone (the broker
 * delivers it again), and the publishes it had not confirmed fail. */
PRINTF_LIKE(2, 3)
void rconn_drop(struct rmq *r, const char *fmt, ...)
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
	r->retry_at_ms = rconn_now_ms() + (double)r->backoff_ms;
	for (size_t i = 0; i < r->nq; i++)
		rbuf_queue_forget_connection(r->queues[i]);
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

enum ddb_status rconn_unavailable(struct rmq *r, struct ddb_err *err, const char *what)
{
	rconn_set_err(err, "rabbitmq transport: %s: broker %s unavailable: %s", what, r->where,
	              r->down_why);
	return DDB_UNAVAILABLE;
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
enum ddb_status rconn_check_reply(struct rmq *r, amqp_rpc_reply_t rep, const char *what,
                                  struct ddb_err *err)
{
	if (rep.reply_type == AMQP_RESPONSE_NORMAL)
		return DDB_OK;
	char why[160];
	enum ddb_status st = describe_reply(rep, why, sizeof why);
	rconn_drop(r, "%s: %s", what, why);
	rconn_set_err(err, "rabbitmq transport: %s: %s (broker %s)", what, why, r->where);
	return st == DDB_OK ? DDB_INTERNAL : st;
}

enum ddb_status rconn_check_rpc(struct rmq *r, const char *what, struct ddb_err *err)
{
	return rconn_check_reply(r, amqp_get_rpc_reply(r->conn), what, err);
}

/* Writes the gathered publishes to the socket.  0, or -1 when the
 * connection is gone (dropped: the unconfirmed publishes fail the next
 * confirm). */
int rconn_send_pending(struct rmq *r)
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
				rconn_drop(r, "the broker took no data for %ld ms", r->timeout_ms);
			else
				rconn_drop(r, "waiting to send: %s", strerror(errno));
			return -1;
		}
		rconn_drop(r, "sending to the broker: %s", n < 0 ? strerror(errno) : "nothing sent");
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
enum ddb_status rconn_encode_publish(struct rmq *r, const char *queue, const void *body,
                                     size_t len, struct ddb_err *err)
{
	size_t frame_max = (size_t)amqp_get_frame_max(r->conn);
	if (frame_max < 4096)
		frame_max = 4096;
	size_t chunk = frame_max - 8, qlen = strlen(queue);
	size_t n_body = len / chunk + 1;
	if (len > SIZE_MAX / 2 || n_body > SIZE_MAX / 16) {
		rconn_set_err(err, "rabbitmq transport: publish to '%s': %zu bytes is too large", queue, len);
		return DDB_INVALID;
	}
	size_t need = (8 + 32 + qlen) + (8 + 64) + len + 8 * n_body;
	if (need > r->ocap - r->olen) {
		size_t cap = r->ocap ? r->ocap : SEND_AT + 4096;
		while (cap - r->olen < need)
			cap *= 2;
		unsigned char *grown = realloc(r->obuf, cap);
		if (!grown)
			return rconn_oom(err, "publish buffer");
		r->obuf = grown;
		r->ocap = cap;
	}
	unsigned char *p = r->obuf + r->olen;
	/* basic.publish */
	amqp_basic_publish_t m;
	memset(&m, 0, sizeof m);
	m.exchange = amqp_empty_bytes;
	m.routing_key = rconn_bytes_of(queue);
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
	rconn_set_err(err, "rabbitmq transport: publish to '%s': cannot encode the frames: %s", queue,
	              amqp_error_string2(n));
	return DDB_INTERNAL;
}

/* Gives back the memory rabbitmq-c keeps for the replies of synchronous
 * methods (it grows until released), unless frames are set aside. */
void rconn_release(struct rmq *r)
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
		rconn_drop(r, "%s", why);
	}
}

static void delivery_complete(struct rmq *r, struct queue *q)
{
	struct msg *m = q->part;
	q->part = NULL;
	q->part_state = 0;
	if (rbuf_fifo_reserve(&q->ready, 1) != 0) {
		free(m);
		rconn_drop(r, "out of memory buffering a delivery");
		return;
	}
	rbuf_fifo_insert(&q->ready, m);
}

/* Handles one frame; may drop the connection. */
static void handle_frame(struct rmq *r, const amqp_frame_t *f)
{
	if (f->frame_type == AMQP_FRAME_METHOD) {
		amqp_method_number_t id = f->payload.method.id;
		void *decoded = f->payload.method.decoded;
		if (id == AMQP_CONNECTION_CLOSE_METHOD) {
			const amqp_connection_close_t *m = decoded;
			rconn_drop(r, "the broker closed the connection: %u %.*s", m->reply_code,
			           text_len(m->reply_text), text_of(m->reply_text));
			return;
		}
		if (id == AMQP_CHANNEL_CLOSE_METHOD) {
			const amqp_channel_close_t *m = decoded;
			rconn_drop(r, "the broker closed channel %u: %u %.*s", (unsigned)f->channel,
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
			rconn_drop(r, "a delivery of %llu bytes does not fit in memory", (unsigned long long)size);
			return;
		}
		struct msg *m = malloc(sizeof *m + (size_t)size);
		if (!m) {
			rconn_drop(r, "out of memory for a delivery of %llu bytes", (unsigned long long)size);
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
			rconn_drop(r, "a delivery on channel %u has more body than announced",
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
int rconn_pump(struct rmq *r, long wait_ms)
{
	if (r->olen && rconn_send_pending(r) < 0)
		return -1;
	amqp_frame_t f;
	struct timeval tv = ms_tv(wait_ms);
	int st = amqp_simple_wait_frame_noblock(r->conn, &f, &tv);
	if (st == AMQP_STATUS_TIMEOUT)
		return 0;
	if (st != AMQP_STATUS_OK) {
		rconn_drop(r, "reading from the broker: %s", amqp_error_string2(st));
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
int rconn_pump_queued(struct rmq *r)
{
	while (r->conn && amqp_frames_enqueued(r->conn))
		if (rconn_pump(r, 0) < 0)
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
		rconn_drop(r, "closing the control channel: %s", amqp_error_string2(rc));
		return rconn_unavailable(r, err, "declare");
	}
	amqp_channel_open(r->conn, CTL_CH);
	return rconn_check_rpc(r, "reopen the control channel", err);
}

/* Read-only: how many ready messages a queue holds, asked passively
 * (nothing is created); 0 for a queue that does not exist. */
enum ddb_status rconn_passive_count(struct rmq *r, const char *name, uint64_t *count,
                                    struct ddb_err *err)
{
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "count of queue '%s'", name);
	*count = 0;
	amqp_queue_declare_ok_t *ok =
	    amqp_queue_declare(r->conn, CTL_CH, rconn_bytes_of(name), 1, 0, 0, 0, amqp_empty_table);
	amqp_rpc_reply_t rep = amqp_get_rpc_reply(r->conn);
	if (rep.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    rep.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
	    ((const amqp_channel_close_t *)rep.reply.decoded)->reply_code == AMQP_NOT_FOUND)
		return reopen_control(r, err); /* no such queue: nothing in it */
	enum ddb_status st = rconn_check_reply(r, rep, what, err);
	if (st == DDB_OK)
		*count = ok->message_count;
	return st;
}

/* A durable queue, of the configured x-queue-version when it is new; one
 * that exists with another version is taken as it is.  Read-only: only
 * asked after, passively. */
enum ddb_status rconn_declare_on_broker(struct rmq *r, const char *name, struct ddb_err *err)
{
	if (r->readonly) {
		uint64_t count;
		return rconn_passive_count(r, name, &count, err);
	}
	char what[QUEUE_NAME_MAX + 32];
	snprintf(what, sizeof what, "declare queue '%s'", name);
	amqp_table_entry_t version;
	memset(&version, 0, sizeof version);
	version.key = amqp_cstring_bytes("x-queue-version");
	version.value.kind = AMQP_FIELD_KIND_I32;
	version.value.value.i32 = (int32_t)r->queue_version;
	amqp_table_t args = { r->queue_version ? 1 : 0, &version };
	amqp_queue_declare(r->conn, CTL_CH, rconn_bytes_of(name), 0, 1, 0, 0, args);
	amqp_rpc_reply_t rep = amqp_get_rpc_reply(r->conn);
	if (other_queue_version(rep)) {
		enum ddb_status st = reopen_control(r, err);
		if (st != DDB_OK)
			return st;
		amqp_queue_declare(r->conn, CTL_CH, rconn_bytes_of(name), 1, 0, 0, 0, amqp_empty_table);
		rep = amqp_get_rpc_reply(r->conn);
	}
	return rconn_check_reply(r, rep, what, err);
}

/* A failed attempt: the next one waits twice as long. */
static enum ddb_status connect_failed(struct rmq *r, amqp_connection_state_t c,
                                      enum ddb_status st, struct ddb_err *err, const char *why)
{
	if (c)
		amqp_destroy_connection(c);
	snprintf(r->down_why, sizeof r->down_why, "%s", why);
	r->retry_at_ms = rconn_now_ms() + (double)r->backoff_ms;
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
	rconn_set_err(err, "rabbitmq transport: cannot connect to the broker %s as '%s': %s", r->where,
	              r->ci.user, why);
	return st;
}

enum ddb_status rconn_connect(struct rmq *r, struct ddb_err *err)
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
		enum ddb_status st = rconn_declare_on_broker(r, r->queues[i]->name, err);
		if (st != DDB_OK) {
			r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
			return st;
		}
	}
	r->backoff_ms = BACKOFF_MIN_MS;
	rconn_release(r);
	return DDB_OK;
}

/* Connected, or DDB_UNAVAILABLE (the broker is down, or the backoff after
 * the last failure has not passed). */
enum ddb_status rconn_ensure(struct rmq *r, const char *what, struct ddb_err *err)
{
	if (r->conn)
		return DDB_OK;
	double wait = r->retry_at_ms - rconn_now_ms();
	if (wait > 0) {
		rconn_set_err(err, "rabbitmq transport: %s: broker %s unavailable (%s); next attempt in %.0f ms",
		              what, r->where, r->down_why, wait);
		return DDB_UNAVAILABLE;
	}
	return rconn_connect(r, err);
}

