/*
 * sqlite_checkpoint.c - a store's WAL checkpoints, on a thread of their own.
 *
 * A commit in WAL mode appends the pages it changed to the -wal file; a
 * checkpoint copies them back into the database file and, at
 * synchronous = NORMAL, syncs both files.  SQLite's default runs it inside
 * the commit that crosses 1,000 pages, so one order in a thousand waited
 * for the copy and two fdatasync calls (milliseconds: the tail latency of
 * `ddbsim serve`).
 *
 * Here the commit only asks (a WAL hook): a thread with its own connection
 * to the same file runs the checkpoint (PASSIVE: it never blocks a writer,
 * and copies the frames committed before it began).  The commit checkpoints
 * by itself only when the WAL reaches SQC_BOUND_FRAMES (after the thread's
 * pass under way, if any), which bounds the file under load that never
 * pauses: the thread has copied nearly all of it by then, so that
 * checkpoint copies little.  Once every frame is copied,
 * the next write transaction starts the WAL over from its beginning
 * (SQLite's own rule).
 *
 * Nothing about durability changes: a commit is durable when it returns, as
 * before; a checkpoint only moves committed pages, in the same way, on
 * another thread.  When the thread's connection or the thread cannot be
 * had, the store keeps SQLite's own checkpoints.  The hook and the thread
 * share only the fields under mu.
 */
#include "sqlite_int.h"

#include <pthread.h>
#include <stdlib.h>

/* The thread is asked for a pass once this many frames were added since
 * its last one (SQLite's own autocheckpoint threshold). */
#define SQC_START_FRAMES 1000
/* The writer checkpoints by itself at this size (about 16 MiB of WAL with
 * 4 KiB pages). */
#define SQC_BOUND_FRAMES 4000

struct sq_checkpointer {
	sqlite3 *db; /* the thread's connection: used by it alone */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* the thread waits for wanted or stopping */
	pthread_cond_t idle; /* the writer waits for the end of a pass */
	int wanted;      /* under mu: a pass is asked for */
	int running;     /* under mu: a pass is under way */
	int stopping;    /* under mu: close is waiting for the thread */
	int copied;      /* under mu: frames copied by the last pass */
};

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
		int frames = 0, copied = 0;
		/* Busy (another checkpoint runs) or failed: the next commit over
		 * the threshold asks again, and the bound still holds. */
		if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) !=
		    SQLITE_OK)
			copied = 0;
		pthread_mutex_lock(&c->mu);
		c->running = 0;
		c->copied = copied;
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
	if (frames >= SQC_BOUND_FRAMES) {
		/* The thread's pass would make this one busy: it ends first, and
		 * none starts meanwhile (only this hook asks for one). */
		c->wanted = 0;
		while (c->running)
			pthread_cond_wait(&c->idle, &c->mu);
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
	if (!c)
		return;
	/* The checkpoint syncs as the store's own connection would. */
	if (sqlite3_open_v2(h->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(c->db, synchronous_sql, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(c->db);
		free(c);
		return;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->idle, NULL);
	if (pthread_create(&c->thread, NULL, run, c) != 0) {
		pthread_cond_destroy(&c->idle);
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close(c->db);
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
	free(c);
	h->checkpointer = NULL;
}
