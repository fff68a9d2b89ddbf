/*
 * memory.c - the in-memory transport: a broker inside the ddbsim process.
 *
 * It is the default transport and needs no server.  It is not durable
 * (caps 0): what it holds lives in the process, so the core requeues its
 * published outbox events after a restart.  What its queues still hold when
 * it is closed (writes waiting for a node that is down, typically) is kept
 * in DATA_DIR/NODE.queues and taken back by the next open of that data
 * directory (keep_queues = no turns this off); reset() deletes the file.
 * Opened read-only (DDB_OPEN_READONLY, ddbsim check), it reads the file and
 * never writes or deletes it: close() keeps nothing and reset() is refused.  A
 * process that is killed keeps only what an earlier close wrote, so a copy
 * may come back twice (the core's consumers are idempotent) or, written
 * since, not at all: only a real broker survives that.
 *
 * Each open() is an independent broker instance holding named queues.  A
 * queue holds three sets of messages:
 *
 *   fresh     published and never delivered: a FIFO ring, in publish order;
 *   requeued  delivered, then rejected with requeue or recovered: a min-heap
 *             on the publish sequence number, so that they come back in
 *             their original order whatever order they were requeued in;
 *   unacked   delivered and not yet settled: a hash map from delivery tag to
 *             message (open addressing, linear probing, backward-shift
 *             deletion, so there are no tombstones to clean up).
 *
 * Every message ever delivered was taken from the head of the queue, so its
 * publish sequence is lower than that of any fresh message still waiting:
 * serving the requeued heap first and the fresh ring second is exactly "in
 * publish order", as RabbitMQ does when it puts requeued messages back at
 * their original position.
 *
 * Publish, receive and ack are O(1) amortised (reject with requeue and
 * recover are O(log n) per message).  A message is one allocation, header
 * and body together, freed as soon as it is acked or dropped; past a small
 * capacity kept for steady traffic, the ring and the map shrink again as they
 * empty, so memory follows what is held, not what went through.  Delivery
 * tags come from one counter per instance, start at 1 and are never reused,
 * not even after reset().
 *
 * Body pointers handed out by receive() point into the message itself and
 * stay valid until that delivery is acked or rejected without requeue (a
 * requeued message keeps its body), or until reset()/close(): longer than
 * the ABI promises.
 *
 * An instance is not thread safe: the engine calls it from one thread.
 *
 * Options:
 *   max_queue   how many messages (ready + unacked) a queue may hold; a
 *               publish to a full queue returns DDB_UNAVAILABLE.  A decimal
 *               integer; 0 or absent: no limit.  (RabbitMQ's x-max-length
 *               counts ready messages only; this one bounds the memory held,
 *               so it counts unacked ones too.)
 *   keep_queues yes (default) or no: keep what the queues hold across a
 *               close and the next open, as above
 * Other options are refused (the core checks them against option_keys[]).
 */
#include <ddbsim/plugin.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMORY_VERSION "0.1.0"
/* As AMQP's short strings, so that a name that works here works on a real
 * broker too. */
#define QUEUE_NAME_MAX 255
/* RabbitMQ's default max_message_size (128 MiB), for the same reason. */
#define MESSAGE_MAX ((size_t)128 << 20)
#define RING_MIN 16
#define MAP_MIN 16
/* Capacities a queue keeps while it drains and refills, so that a consumer
 * keeping up does not reallocate on every batch; above them, the ring and
 * the map shrink again as they empty. */
#define RING_KEEP 1024
#define MAP_KEEP 2048

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---- messages ------------------------------------------------------------ */

struct msg {
	uint64_t seq; /* publish order within the instance */
	size_t len;
	int redelivered;
	_Alignas(max_align_t) unsigned char body[];
};

static struct msg *msg_new(uint64_t seq, const void *body, size_t len)
{
	if (len > SIZE_MAX - sizeof(struct msg))
		return NULL;
	struct msg *m = malloc(sizeof *m + len);
	if (!m)
		return NULL;
	m->seq = seq;
	m->len = len;
	m->redelivered = 0;
	if (len)
		memcpy(m->body, body, len);
	return m;
}

/* ---- fresh messages: a ring of pointers, capacity a power of two --------- */

struct ring {
	struct msg **slot;
	size_t cap, head, count;
};

static int ring_resize(struct ring *r, size_t cap)
{
	struct msg **slot = malloc(cap * sizeof *slot);
	if (!slot)
		return -1;
	for (size_t i = 0; i < r->count; i++)
		slot[i] = r->slot[(r->head + i) & (r->cap - 1)];
	free(r->slot);
	r->slot = slot;
	r->cap = cap;
	r->head = 0;
	return 0;
}

static int ring_push(struct ring *r, struct msg *m)
{
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : RING_MIN;
		if (cap < r->cap || cap > SIZE_MAX / sizeof *r->slot || ring_resize(r, cap) != 0)
			return -1;
	}
	r->slot[(r->head + r->count) & (r->cap - 1)] = m;
	r->count++;
	return 0;
}

static struct msg *ring_pop(struct ring *r)
{
	struct msg *m = r->slot[r->head];
	r->head = (r->head + 1) & (r->cap - 1);
	r->count--;
	/* Give memory back after a burst; a failed shrink changes nothing. */
	if (r->cap > RING_KEEP && r->count < r->cap / 4)
		(void)ring_resize(r, r->cap / 2);
	return m;
}

/* ---- requeued messages: a min-heap on seq -------------------------------- */

struct heap {
	struct msg **item;
	size_t cap, count;
};

static int heap_reserve(struct heap *h, size_t more)
{
	if (more <= h->cap - h->count)
		return 0;
	size_t cap = h->cap ? h->cap : RING_MIN;
	while (cap - h->count < more) {
		if (cap > SIZE_MAX / 2 / sizeof *h->item)
			return -1;
		cap *= 2;
	}
	struct msg **item = realloc(h->item, cap * sizeof *item);
	if (!item)
		return -1;
	h->item = item;
	h->cap = cap;
	return 0;
}

/* Room must have been reserved. */
static void heap_push(struct heap *h, struct msg *m)
{
	size_t i = h->count++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->item[parent]->seq <= m->seq)
			break;
		h->item[i] = h->item[parent];
		i = parent;
	}
	h->item[i] = m;
}

static struct msg *heap_pop(struct heap *h)
{
	struct msg *top = h->item[0];
	struct msg *last = h->item[--h->count];
	size_t i = 0, n = h->count;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n && h->item[child + 1]->seq < h->item[child]->seq)
			child++;
		if (last->seq <= h->item[child]->seq)
			break;
		h->item[i] = h->item[child];
		i = child;
	}
	if (n > 0)
		h->item[i] = last;
	if (n == 0) {
		/* Requeues are rare: do not keep the array around. */
		free(h->item);
		h->item = NULL;
		h->cap = 0;
	}
	return top;
}

/* ---- unacked deliveries: tag -> message ---------------------------------- */

struct entry {
	uint64_t tag; /* 0: empty slot (tags start at 1) */
	struct msg *m;
};

struct map {
	struct entry *slot;
	size_t cap, count; /* cap: 0 or a power of two; count <= cap / 2 */
	unsigned shift;    /* 64 - log2(cap) */
};

static size_t map_home(const struct map *mp, uint64_t tag)
{
	/* Fibonacci hashing: consecutive tags spread evenly over the table. */
	return (size_t)((tag * UINT64_C(0x9E3779B97F4A7C15)) >> mp->shift);
}

static int map_rehash(struct map *mp, size_t cap)
{
	struct entry *slot = calloc(cap, sizeof *slot);
	if (!slot)
		return -1;
	unsigned bits = 0;
	while (((size_t)1 << bits) < cap)
		bits++;
	struct map grown = { slot, cap, 0, 64 - bits };
	for (size_t i = 0; i < mp->cap; i++) {
		if (!mp->slot[i].tag)
			continue;
		size_t j = map_home(&grown, mp->slot[i].tag);
		while (slot[j].tag)
			j = (j + 1) & (cap - 1);
		slot[j] = mp->slot[i];
		grown.count++;
	}
	free(mp->slot);
	*mp = grown;
	return 0;
}

/* Makes room for `more` insertions without a failure on the way. */
static int map_reserve(struct map *mp, size_t more)
{
	if (more > SIZE_MAX / 4 - mp->count)
		return -1;
	size_t need = mp->count + more, cap = mp->cap ? mp->cap : MAP_MIN;
	while (need > cap / 2) {
		if (cap > SIZE_MAX / 2 / sizeof(struct entry))
			return -1;
		cap *= 2;
	}
	return cap == mp->cap ? 0 : map_rehash(mp, cap);
}

/* Room must have been reserved. */
static void map_put(struct map *mp, uint64_t tag, struct msg *m)
{
	size_t i = map_home(mp, tag);
	while (mp->slot[i].tag)
		i = (i + 1) & (mp->cap - 1);
	mp->slot[i].tag = tag;
	mp->slot[i].m = m;
	mp->count++;
}

/* Removes the entry for tag and returns its message, or NULL. */
static struct msg *map_take(struct map *mp, uint64_t tag)
{
	if (!mp->count || !tag)
		return NULL;
	size_t mask = mp->cap - 1, i = map_home(mp, tag);
	while (mp->slot[i].tag != tag) {
		if (!mp->slot[i].tag)
			return NULL;
		i = (i + 1) & mask;
	}
	struct msg *m = mp->slot[i].m;
	/* Backward-shift deletion: pull up every following entry of the run
	 * that may sit at the hole, so that lookups never stop too early. */
	size_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!mp->slot[j].tag)
			break;
		size_t home = map_home(mp, mp->slot[j].tag);
		/* Leave j where it is if its home lies cyclically in (hole, j]. */
		if (((j - home) & mask) < ((j - hole) & mask))
			continue;
		mp->slot[hole] = mp->slot[j];
		hole = j;
	}
	mp->slot[hole].tag = 0;
	mp->slot[hole].m = NULL;
	mp->count--;
	if (mp->cap > MAP_KEEP && mp->count < mp->cap / 8)
		(void)map_rehash(mp, mp->cap / 2);
	return m;
}

/* ---- queues and instances ------------------------------------------------ */

struct queue {
	char *name;
	uint64_t hash;
	struct ring fresh;
	struct heap requeued;
	struct map unacked;
};

struct instance {
	struct queue **table; /* open addressing on the name's hash */
	size_t cap, count;
	uint64_t next_tag;   /* last tag handed out; never goes back */
	uint64_t next_seq;   /* last publish sequence */
	uint64_t max_queue;  /* 0: no limit */
	struct queue *last;  /* the queue the last call used */
	char *keep_path;     /* DATA_DIR/NODE.queues, or NULL: kept nowhere */
	int readonly;        /* DDB_OPEN_READONLY: keep_path is read, never written */
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
	set_err(err, "memory transport: out of memory (%s)", what);
	return DDB_INTERNAL;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

static void queue_free(struct queue *q)
{
	for (size_t i = 0; i < q->fresh.count; i++)
		free(q->fresh.slot[(q->fresh.head + i) & (q->fresh.cap - 1)]);
	free(q->fresh.slot);
	for (size_t i = 0; i < q->requeued.count; i++)
		free(q->requeued.item[i]);
	free(q->requeued.item);
	for (size_t i = 0; i < q->unacked.cap; i++)
		if (q->unacked.slot[i].tag)
			free(q->unacked.slot[i].m);
	free(q->unacked.slot);
	free(q->name);
	free(q);
}

static void drop_queues(struct instance *in)
{
	for (size_t i = 0; i < in->cap; i++)
		if (in->table[i])
			queue_free(in->table[i]);
	free(in->table);
	in->table = NULL;
	in->cap = in->count = 0;
	in->last = NULL;
}

static enum ddb_status check_name(const char *queue, struct ddb_err *err)
{
	if (!queue || !*queue) {
		set_err(err, "memory transport: queue name missing");
		return DDB_INVALID;
	}
	if (strlen(queue) > QUEUE_NAME_MAX) {
		set_err(err, "memory transport: queue name '%.40s...' longer than %d bytes", queue,
		        QUEUE_NAME_MAX);
		return DDB_INVALID;
	}
	return DDB_OK;
}

static struct queue *lookup(struct instance *in, const char *queue)
{
	if (in->last && strcmp(in->last->name, queue) == 0)
		return in->last;
	if (!in->count)
		return NULL;
	uint64_t h = name_hash(queue);
	for (size_t i = (size_t)h & (in->cap - 1);; i = (i + 1) & (in->cap - 1)) {
		struct queue *q = in->table[i];
		if (!q)
			return NULL;
		if (q->hash == h && strcmp(q->name, queue) == 0)
			return in->last = q;
	}
}

/* The declared queue named `queue`, or NULL with err filled. */
static struct queue *find(void *handle, const char *queue, enum ddb_status *st,
                          struct ddb_err *err)
{
	if (!handle) {
		set_err(err, "memory transport: no instance");
		*st = DDB_INVALID;
		return NULL;
	}
	if ((*st = check_name(queue, err)) != DDB_OK)
		return NULL;
	struct queue *q = lookup(handle, queue);
	if (!q) {
		set_err(err, "memory transport: queue '%s' not declared", queue);
		*st = DDB_NOT_FOUND;
	}
	return q;
}

/* ---- keeping the queues across a close and the next open ---------------
 *
 * The file, written to NODE.queues.tmp and renamed over NODE.queues:
 *
 *   ddbsim memory queues 1\n
 *   queue NAME_LENGTH COUNT\n NAME \n      for each queue that holds messages
 *   message LENGTH REDELIVERED\n BODY \n   COUNT times, in publish order
 *   end\n
 */

#define KEEP_MAGIC "ddbsim memory queues 1"

static int msg_by_seq(const void *a, const void *b)
{
	const struct msg *x = *(struct msg *const *)a, *y = *(struct msg *const *)b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Every message of q (fresh, requeued or unacked) in publish order, in a
 * new array of *n pointers; NULL with *n = 0 when there are none or memory
 * ran out (*oom set).  Unacked ones are marked redelivered: they come back
 * as a broker gives back what a consumer that went away had not acked. */
static struct msg **queue_messages(const struct queue *q, size_t *n, int *oom)
{
	*n = q->fresh.count + q->requeued.count + q->unacked.count;
	if (*n == 0)
		return NULL;
	struct msg **all = malloc(*n * sizeof *all);
	if (!all) {
		*oom = 1;
		*n = 0;
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < q->requeued.count; i++)
		all[k++] = q->requeued.item[i];
	for (size_t i = 0; i < q->unacked.cap; i++) {
		if (q->unacked.slot[i].tag) {
			q->unacked.slot[i].m->redelivered = 1;
			all[k++] = q->unacked.slot[i].m;
		}
	}
	for (size_t i = 0; i < q->fresh.count; i++)
		all[k++] = q->fresh.slot[(q->fresh.head + i) & (q->fresh.cap - 1)];
	qsort(all, k, sizeof *all, msg_by_seq);
	return all;
}

/* Writes what the queues hold to in->keep_path (or removes the file when
 * they hold nothing).  0, or -1 with errno's message in why. */
static int keep_save(struct instance *in, char *why, size_t whylen)
{
	size_t held = 0;
	for (size_t i = 0; i < in->cap; i++) {
		const struct queue *q = in->table[i];
		if (q)
			held += q->fresh.count + q->requeued.count + q->unacked.count;
	}
	if (held == 0) {
		if (remove(in->keep_path) != 0 && errno != ENOENT) {
			snprintf(why, whylen, "cannot remove it: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	size_t len = strlen(in->keep_path) + 5;
	char *tmp = malloc(len);
	if (!tmp) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	snprintf(tmp, len, "%s.tmp", in->keep_path);
	FILE *f = fopen(tmp, "wb");
	int ok = f && fprintf(f, "%s\n", KEEP_MAGIC) > 0, oom = 0;
	for (size_t i = 0; ok && i < in->cap; i++) {
		const struct queue *q = in->table[i];
		size_t n = 0;
		struct msg **all = q ? queue_messages(q, &n, &oom) : NULL;
		if (n > 0)
			ok = fprintf(f, "queue %zu %zu\n%s\n", strlen(q->name), n, q->name) > 0;
		for (size_t k = 0; ok && k < n; k++)
			ok = fprintf(f, "message %zu %d\n", all[k]->len, all[k]->redelivered) > 0 &&
			     fwrite(all[k]->body, 1, all[k]->len, f) == all[k]->len && fputc('\n', f) != EOF;
		free(all);
		ok = ok && !oom;
	}
	ok = ok && fprintf(f, "end\n") > 0 && fflush(f) == 0;
	int saved = errno;
	if (f && fclose(f) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, in->keep_path) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		snprintf(why, whylen, "%s", oom ? "out of memory" : strerror(saved));
		remove(tmp);
	}
	free(tmp);
	return ok ? 0 : -1;
}

static enum ddb_status mem_declare(void *handle, const char *queue, struct ddb_err *err);
static enum ddb_status enqueue(struct instance *in, struct queue *q, const void *body, size_t len,
                               int redelivered, struct ddb_err *err);

/* Parses a "WORD A B\n" header line; 0 when it is one. */
static int parse_header(const char *line, const char *word, unsigned long long *a,
                        unsigned long long *b)
{
	char w[16], extra;
	int got = sscanf(line, "%15s %llu %llu%c", w, a, b, &extra);
	return got == 4 && extra == '\n' && strcmp(w, word) == 0 ? 0 : -1;
}

static enum ddb_status keep_load(struct instance *in, struct ddb_err *err)
{
	FILE *f = fopen(in->keep_path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return DDB_OK;
		set_err(err, "memory transport: %s: %s", in->keep_path, strerror(errno));
		return DDB_UNAVAILABLE;
	}
	enum ddb_status st = DDB_OK;
	char line[64], *buf = NULL;
	const char *bad = NULL;
	if (!fgets(line, sizeof line, f) || strcmp(line, KEEP_MAGIC "\n") != 0)
		bad = "not a file of kept queues";
	while (!bad && st == DDB_OK) {
		unsigned long long name_len, count;
		if (!fgets(line, sizeof line, f)) {
			bad = "it ends before its end line";
			break;
		}
		if (strcmp(line, "end\n") == 0)
			break;
		if (parse_header(line, "queue", &name_len, &count) != 0 || name_len == 0 ||
		    name_len > QUEUE_NAME_MAX) {
			bad = "a queue's header is malformed";
			break;
		}
		char name[QUEUE_NAME_MAX + 2];
		if (fread(name, 1, (size_t)name_len + 1, f) != name_len + 1 || name[name_len] != '\n') {
			bad = "a queue's name is cut short";
			break;
		}
		name[name_len] = '\0';
		if (memchr(name, '\0', (size_t)name_len)) {
			bad = "a queue's name holds a NUL byte";
			break;
		}
		if ((st = mem_declare(in, name, err)) != DDB_OK)
			break;
		struct queue *q = lookup(in, name);
		for (unsigned long long k = 0; k < count && !bad && st == DDB_OK; k++) {
			unsigned long long len, redelivered;
			if (!fgets(line, sizeof line, f) ||
			    parse_header(line, "message", &len, &redelivered) != 0 || redelivered > 1 ||
			    len > MESSAGE_MAX) {
				bad = "a message's header is malformed";
				break;
			}
			char *grown = realloc(buf, (size_t)len + 1);
			if (!grown) {
				st = oom(err, "kept queues");
				break;
			}
			buf = grown;
			if (fread(buf, 1, (size_t)len + 1, f) != len + 1 || buf[len] != '\n') {
				bad = "a message is cut short";
				break;
			}
			st = enqueue(in, q, buf, (size_t)len, (int)redelivered, err);
		}
	}
	free(buf);
	if (bad && ferror(f)) { /* not damaged: it could not be read */
		set_err(err, "memory transport: %s: cannot read it: %s", in->keep_path, strerror(errno));
		bad = NULL;
		st = DDB_UNAVAILABLE;
	}
	fclose(f);
	if (bad) {
		set_err(err, "memory transport: %s: %s (remove it to start without what it kept)",
		        in->keep_path, bad);
		st = DDB_INVALID;
	}
	return st;
}

/* ---- operations ---------------------------------------------------------- */

static enum ddb_status mem_open(const struct ddb_open_args *args, void **handle,
                                struct ddb_err *err)
{
	if (!handle) {
		set_err(err, "memory transport: open without a handle to fill");
		return DDB_INVALID;
	}
	*handle = NULL;
	uint64_t max_queue = 0;
	int keep = 1;
	if (args) {
		struct ddb_err why;
		long max = 0;
		if (ddb_option_long(args, "max_queue", 0, 0, LONG_MAX, &max, &why) != DDB_OK ||
		    ddb_option_bool(args, "keep_queues", 1, &keep, &why) != DDB_OK) {
			set_err(err, "memory transport: %s", why.msg);
			return DDB_INVALID;
		}
		max_queue = (uint64_t)max;
	}
	struct instance *in = calloc(1, sizeof *in);
	if (!in)
		return oom(err, "instance");
	in->max_queue = max_queue;
	in->readonly = args && (args->flags & DDB_OPEN_READONLY);
	if (keep && args && args->data_dir && *args->data_dir) {
		const char *node = args->node && *args->node ? args->node : "broker";
		size_t len = strlen(args->data_dir) + strlen(node) + 10;
		if (!(in->keep_path = malloc(len))) {
			free(in);
			return oom(err, "instance");
		}
		snprintf(in->keep_path, len, "%s/%s.queues", args->data_dir, node);
		enum ddb_status st = keep_load(in, err);
		if (st != DDB_OK) {
			drop_queues(in);
			free(in->keep_path);
			free(in);
			return st;
		}
	}
	*handle = in;
	return DDB_OK;
}

static void mem_close(void *handle)
{
	struct instance *in = handle;
	if (!in)
		return;
	char why[256];
	if (in->keep_path && !in->readonly && keep_save(in, why, sizeof why) != 0)
		fprintf(stderr, "ddbsim: memory transport: could not keep what the queues hold in %s: "
		                "%s\n", in->keep_path, why);
	drop_queues(in);
	free(in->keep_path);
	free(in);
}

static enum ddb_status mem_reset(void *handle, struct ddb_err *err)
{
	if (!handle) {
		set_err(err, "memory transport: no instance");
		return DDB_INVALID;
	}
	/* Tags and sequence numbers go on: a tag is never reused. */
	struct instance *in = handle;
	if (in->readonly) {
		set_err(err, "memory transport: reset: opened read-only");
		return DDB_INVALID;
	}
	drop_queues(in);
	if (in->keep_path && remove(in->keep_path) != 0 && errno != ENOENT) {
		set_err(err, "memory transport: reset: cannot remove %s: %s", in->keep_path,
		        strerror(errno));
		return DDB_UNAVAILABLE;
	}
	return DDB_OK;
}

static enum ddb_status mem_declare(void *handle, const char *queue, struct ddb_err *err)
{
	struct instance *in = handle;
	if (!in) {
		set_err(err, "memory transport: no instance");
		return DDB_INVALID;
	}
	enum ddb_status st = check_name(queue, err);
	if (st != DDB_OK)
		return st;
	if (lookup(in, queue))
		return DDB_OK;
	if (in->count + 1 > in->cap / 2) {
		size_t cap = in->cap ? in->cap * 2 : 8;
		struct queue **table = calloc(cap, sizeof *table);
		if (!table)
			return oom(err, "queue table");
		for (size_t i = 0; i < in->cap; i++) {
			struct queue *q = in->table[i];
			if (!q)
				continue;
			size_t j = (size_t)q->hash & (cap - 1);
			while (table[j])
				j = (j + 1) & (cap - 1);
			table[j] = q;
		}
		free(in->table);
		in->table = table;
		in->cap = cap;
	}
	struct queue *q = calloc(1, sizeof *q);
	if (!q || !(q->name = strdup(queue))) {
		free(q);
		return oom(err, "queue");
	}
	q->hash = name_hash(queue);
	size_t j = (size_t)q->hash & (in->cap - 1);
	while (in->table[j])
		j = (j + 1) & (in->cap - 1);
	in->table[j] = q;
	in->count++;
	in->last = q;
	return DDB_OK;
}

static enum ddb_status mem_publish(void *handle, const char *queue, const void *body, size_t len,
                                   struct ddb_err *err)
{
	enum ddb_status st;
	struct queue *q = find(handle, queue, &st, err);
	if (!q)
		return st;
	struct instance *in = handle;
	if (len && !body) {
		set_err(err, "memory transport: publish to '%s': no body for %zu bytes", queue, len);
		return DDB_INVALID;
	}
	if (len > MESSAGE_MAX) {
		set_err(err, "memory transport: publish to '%s': %zu bytes is more than %zu", queue,
		        len, MESSAGE_MAX);
		return DDB_INVALID;
	}
	if (in->max_queue &&
	    q->fresh.count + q->requeued.count + q->unacked.count >= in->max_queue) {
		set_err(err, "memory transport: queue '%s' is full (max_queue = %llu messages)", queue,
		        (unsigned long long)in->max_queue);
		return DDB_UNAVAILABLE;
	}
	return enqueue(in, q, body, len, 0, err);
}

/* Appends a message to q's fresh ring. */
static enum ddb_status enqueue(struct instance *in, struct queue *q, const void *body, size_t len,
                               int redelivered, struct ddb_err *err)
{
	struct msg *m = msg_new(in->next_seq + 1, body, len);
	if (!m)
		return oom(err, "message");
	m->redelivered = redelivered;
	if (ring_push(&q->fresh, m) != 0) {
		free(m);
		return oom(err, "queue ring");
	}
	in->next_seq++;
	return DDB_OK;
}

static enum ddb_status mem_confirm(void *handle, struct ddb_err *err)
{
	if (!handle) {
		set_err(err, "memory transport: no instance");
		return DDB_INVALID;
	}
	/* Everything published is held already. */
	return DDB_OK;
}

static enum ddb_status mem_receive(void *handle, const char *queue, struct ddb_delivery *out,
                                   size_t max, size_t *n_out, struct ddb_err *err)
{
	enum ddb_status st;
	if (n_out)
		*n_out = 0;
	struct queue *q = find(handle, queue, &st, err);
	if (!q)
		return st;
	struct instance *in = handle;
	if (!n_out || (max && !out)) {
		set_err(err, "memory transport: receive from '%s': no room for deliveries", queue);
		return DDB_INVALID;
	}
	size_t ready = q->fresh.count + q->requeued.count;
	size_t n = max < ready ? max : ready;
	if (n == 0)
		return DDB_OK;
	/* Reserve first, so that nothing is taken off the queue and lost when
	 * memory runs out. */
	if (map_reserve(&q->unacked, n) != 0)
		return oom(err, "unacked deliveries");
	for (size_t i = 0; i < n; i++) {
		struct msg *m = q->requeued.count ? heap_pop(&q->requeued) : ring_pop(&q->fresh);
		uint64_t tag = ++in->next_tag;
		map_put(&q->unacked, tag, m);
		out[i].tag = tag;
		out[i].body = m->body;
		out[i].len = m->len;
		out[i].redelivered = m->redelivered;
	}
	*n_out = n;
	return DDB_OK;
}

static enum ddb_status unknown_tag(const char *queue, uint64_t tag, struct ddb_err *err)
{
	set_err(err, "memory transport: queue '%s' has no unacked delivery with tag %llu", queue,
	        (unsigned long long)tag);
	return DDB_NOT_FOUND;
}

static enum ddb_status mem_ack(void *handle, const char *queue, uint64_t tag,
                               struct ddb_err *err)
{
	enum ddb_status st;
	struct queue *q = find(handle, queue, &st, err);
	if (!q)
		return st;
	struct msg *m = map_take(&q->unacked, tag);
	if (!m)
		return unknown_tag(queue, tag, err);
	free(m);
	return DDB_OK;
}

static enum ddb_status mem_reject(void *handle, const char *queue, uint64_t tag, int requeue,
                                  struct ddb_err *err)
{
	enum ddb_status st;
	struct queue *q = find(handle, queue, &st, err);
	if (!q)
		return st;
	/* Reserve before taking, so that a failure leaves the delivery as it
	 * was. */
	if (requeue && heap_reserve(&q->requeued, 1) != 0)
		return oom(err, "requeue");
	struct msg *m = map_take(&q->unacked, tag);
	if (!m)
		return unknown_tag(queue, tag, err);
	if (requeue) {
		m->redelivered = 1;
		heap_push(&q->requeued, m);
	} else {
		free(m);
	}
	return DDB_OK;
}

static enum ddb_status mem_recover(void *handle, const char *queue, struct ddb_err *err)
{
	enum ddb_status st;
	struct queue *q = find(handle, queue, &st, err);
	if (!q)
		return st;
	if (!q->unacked.count)
		return DDB_OK;
	if (heap_reserve(&q->requeued, q->unacked.count) != 0)
		return oom(err, "recover");
	for (size_t i = 0; i < q->unacked.cap; i++) {
		if (!q->unacked.slot[i].tag)
			continue;
		struct msg *m = q->unacked.slot[i].m;
		m->redelivered = 1;
		heap_push(&q->requeued, m);
	}
	free(q->unacked.slot);
	q->unacked.slot = NULL;
	q->unacked.cap = q->unacked.count = 0;
	return DDB_OK;
}

static enum ddb_status mem_depth(void *handle, const char *queue, uint64_t *ready,
                                 uint64_t *unacked, struct ddb_err *err)
{
	enum ddb_status st;
	struct queue *q = find(handle, queue, &st, err);
	if (!q)
		return st;
	if (ready)
		*ready = (uint64_t)q->fresh.count + q->requeued.count;
	if (unacked)
		*unacked = q->unacked.count;
	return DDB_OK;
}

static const struct ddb_transport_ops memory_ops = {
	.open = mem_open,
	.close = mem_close,
	.reset = mem_reset,
	.declare = mem_declare,
	.publish = mem_publish,
	.confirm = mem_confirm,
	.receive = mem_receive,
	.ack = mem_ack,
	.reject = mem_reject,
	.recover = mem_recover,
	.depth = mem_depth,
};

/* The options open() reads (the core refuses others). */
static const char *const option_keys[] = { "max_queue", "keep_queues", NULL };

static const struct ddb_plugin memory_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_TRANSPORT,
	.name = "memory",
	.version = MEMORY_VERSION,
	.caps = 0, /* not durable */
	.storage = NULL,
	.transport = &memory_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &memory_plugin;
}
