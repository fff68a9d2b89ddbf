/*
 * sqlite_checkpoint.c - a store's WAL checkpoints, on a thread of their own.
 *
 * A commit in WAL mode appends the pages it changed to the -wal file; a
 * checkpoint copies them back into the database file and, at
 * synchronous = NORMAL, syncs both files.  SQLite's default runs it inside
 * the commit that crosses 1,000 pages, which waited for the copy of them
 * all and two fdatasync calls (milliseconds: the tail latency of `ddbsim
 * serve`).
 *
 * Here the commit only asks (a WAL hook): a thread with its own connection
 * to the same file runs the checkpoint (PASSIVE: it never blocks a writer,
 * and copies the frames committed before it began).  The first commit after
 * that pass copies the few frames committed during it, so that every frame
 * is copied and the next write transaction starts the WAL over from its
 * beginning (SQLite's own rule): the file stays near 1,000 pages, as with
 * SQLite's checkpoints, instead of growing (a run that writes fresh pages
 * all along costs the kernel more than one that rewrites the same ones).
 * A commit also checkpoints by itself at SQC_BOUND_FRAMES (after the
 * thread's pass under way, if any), which bounds the file if a pass ever
 * fails.
 *
 * Nothing about durability changes: a commit is durable when it returns, as
 * before; a checkpoint only moves committed pages, in the same way, on
 * another thread.  When the thread cannot be had, the store keeps SQLite's
 * own checkpoints; when its connection cannot, each pass fails and the
 * commit after it copies everything itself, as SQLite's own would.  The hook and the thread
 * share only the fields under mu.
 */
#include "sqlite_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The thread is asked for a pass once this many frames were added since
 * its last one (SQLite's own autocheckpoint threshold). */
#define SQC_START_FRAMES 1000
/* The writer checkpoints by itself at this size whatever the thread did
 * (about 16 MiB of WAL with 4 KiB pages). */
#define SQC_BOUND_FRAMES 4000

struct sq_checkpointer {
	sqlite3 *db; /* the thread's connection, opened at its first pass: its alone */
	char *path;
	const char *synchronous_sql; /* static */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* the thread waits for wanted or stopping */
	pthread_cond_t idle; /* the writer waits for the end of a pass */
	int wanted;      /* under mu: a pass is asked for */
	int running;     /* under mu: a pass is under way */
	int stopping;    /* under mu: close is waiting for the thread */
	int copied;      /* under mu: frames copied by the last pass */
	int finished;    /* under mu: a pass ended; the next commit copies the rest */
};

/* At the first pass, not at open: a store that never fills 1,000 pages
 * (a short run) costs no second connection.  The checkpoint syncs as the
 * store's own connection would. */
static int open_connection(struct sq_checkpointer *c)
{
	if (c->db)
		return SQLITE_OK;
	int rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, c->synchronous_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(c->db);
		c->db = NULL;
	}
	return rc;
}

static void *run(void *arg)
{
	struct sq_checkpointer *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->wanted && !c->stopping)
			pthread_cond_wait(&c->wake, &c->mu);
		if (c->stopping)
			break;
		c->wanted = 0;
		c->running = 1;
		pthread_mutex_unlock(&c->mu);
		int copied = 0;
		/* Busy (another checkpoint runs) or failed: the commit after the
		 * pass copies everything itself, as SQLite's own would. */
		if (open_connection(c) != SQLITE_OK ||
		    sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, &copied) !=
		        SQLITE_OK)
			copied = 0;
		pthread_mutex_lock(&c->mu);
		c->running = 0;
		c->copied = copied;
		c->finished = 1;
		pthread_cond_signal(&c->idle);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The WAL hook: after each commit of the store's connection, with the
 * number of frames in the WAL. */
static int after_commit(void *ctx, sqlite3 *db, const char *schema, int frames)
{
	struct sq_checkpointer *c = ctx;
	pthread_mutex_lock(&c->mu);
	int copy_now = (c->finished && !c->running) || frames >= SQC_BOUND_FRAMES;
	if (copy_now) {
		/* The thread's pass would make this one busy: it ends first, and
		 * none starts meanwhile (only this hook asks for one). */
		c->wanted = 0;
		while (c->running)
			pthread_cond_wait(&c->idle, &c->mu);
		c->finished = 0;
		pthread_mutex_unlock(&c->mu);
		sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	/* A WAL started over is shorter than what was copied from it. */
	if (frames < c->copied)
		c->copied = 0;
	if (!c->running && !c->wanted && frames - c->copied >= SQC_START_FRAMES) {
		c->wanted = 1;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

void sqc_start(struct sq *h, const char *synchronous_sql)
{
	struct sq_checkpointer *c = calloc(1, sizeof *c);
	if (!c || !(c->path = strdup(h->path))) {
		free(c);
		return;
	}
	c->synchronous_sql = synchronous_sql;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->idle, NULL);
	if (pthread_create(&c->thread, NULL, run, c) != 0) {
		pthread_cond_destroy(&c->idle);
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
		free(c->path);
		free(c);
		return;
	}
	h->checkpointer = c;
	sqlite3_wal_hook(h->db, after_commit, c);
}

void sqc_stop(struct sq *h)
{
	struct sq_checkpointer *c = h->checkpointer;
	if (!c)
		return;
	sqlite3_wal_hook(h->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->idle);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
	h->checkpointer = NULL;
}
