/*
 * rabbitmq_int.h - what the three files of the RabbitMQ transport plugin
 * share: the constants, the instance (struct rmq), its queues and their
 * local buffers; the buffers' functions of rmq_buffer.c (prefix rbuf_) and
 * the connection's of rmq_conn.c (prefix rconn_: connecting, reconnecting,
 * channels, reading frames, publisher confirms, encoding publishes).
 * rabbitmq.c holds the operations and the descriptor, and the overview of
 * how the transport works.  Private to the plugin: nothing here is exported
 * (the plugin exports ddbsim_plugin_entry only).
 */
#ifndef DDBSIM_RABBITMQ_INT_H
#define DDBSIM_RABBITMQ_INT_H

#include <ddbsim/plugin.h>

#include <amqp.h>

#include <stddef.h>
#include <stdint.h>

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

/* ---- messages, local buffers, queues and instances --------------------- */

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

/* A growable array of 64-bit numbers. */
struct u64s {
	uint64_t *v;
	size_t n, cap;
};

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


/* ---- rmq_buffer.c: the local buffers ------------------------------------- */

/* The i-th ready message from the front (i < f->n). */
static inline struct msg **rbuf_fifo_at(struct fifo *f, size_t i)
{
	return &f->slot[(f->head + i) & (f->cap - 1)];
}

/* The i-th handed-out entry from the head (i < o->n). */
static inline struct entry *rbuf_out_at(struct outlist *o, size_t i)
{
	return &o->slot[(o->head + i) & (o->cap - 1)];
}

int rbuf_fifo_reserve(struct fifo *f, size_t more);
void rbuf_fifo_insert(struct fifo *f, struct msg *m);
struct msg *rbuf_fifo_pop(struct fifo *f);
int rbuf_out_reserve(struct outlist *o, size_t more);
struct entry *rbuf_out_find(struct outlist *o, uint64_t tag);
void rbuf_out_trim(struct outlist *o, size_t unsettled);
int rbuf_u64s_push(struct u64s *a, uint64_t x);
void rbuf_queue_forget_connection(struct queue *q);
void rbuf_queue_free(struct queue *q);

/* ---- rmq_conn.c: the connection ------------------------------------------ */

PRINTF_LIKE(2, 3)
void rconn_set_err(struct ddb_err *err, const char *fmt, ...);
enum ddb_status rconn_oom(struct ddb_err *err, const char *what);
double rconn_now_ms(void);
amqp_bytes_t rconn_bytes_of(const char *s);
PRINTF_LIKE(2, 3)
void rconn_drop(struct rmq *r, const char *fmt, ...);
enum ddb_status rconn_unavailable(struct rmq *r, struct ddb_err *err, const char *what);
enum ddb_status rconn_check_reply(struct rmq *r, amqp_rpc_reply_t rep, const char *what,
                                  struct ddb_err *err);
enum ddb_status rconn_check_rpc(struct rmq *r, const char *what, struct ddb_err *err);
int rconn_send_pending(struct rmq *r);
enum ddb_status rconn_encode_publish(struct rmq *r, const char *queue, const void *body,
                                     size_t len, struct ddb_err *err);
void rconn_release(struct rmq *r);
int rconn_pump(struct rmq *r, long wait_ms);
int rconn_pump_queued(struct rmq *r);
enum ddb_status rconn_passive_count(struct rmq *r, const char *name, uint64_t *count,
                                    struct ddb_err *err);
enum ddb_status rconn_declare_on_broker(struct rmq *r, const char *name, struct ddb_err *err);
enum ddb_status rconn_connect(struct rmq *r, struct ddb_err *err);
enum ddb_status rconn_ensure(struct rmq *r, const char *what, struct ddb_err *err);

#endif
