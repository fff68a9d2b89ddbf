/*
 * datadir_lock.h - one process per data directory: every command that
 * writes or checks the stores of DATA_DIR (run, drain, check, node set, and
 * later serve) holds an exclusive lock on DATA_DIR/lock while it works, so
 * that two of them never mix their writes, and a check never certifies a
 * directory that another process is changing.
 *
 * The lock is flock(LOCK_EX | LOCK_NB) on DATA_DIR/lock: the kernel drops it
 * when its holder exits, however it exits (kill -9 too), so a stale lock
 * cannot exist.  The holder writes its pid into the file, for the message
 * the next process gets; the file stays (removing a lock file races with
 * the next process opening it), empty once it is free.
 */
#ifndef DDBSIM_DATADIR_LOCK_H
#define DDBSIM_DATADIR_LOCK_H

#include <stddef.h>

enum datadir_lock_mode {
	/* run: creates the data directory (and its parents) if missing. */
	DATADIR_CREATE = 1,
	/* drain, node set: the directory must hold the nodes file of a run. */
	DATADIR_EXISTING,
	/* check: as DATADIR_EXISTING, and creates no file where it can help
	 * it (the lock file of a run is there already); a directory it may
	 * not write is locked through a read-only descriptor. */
	DATADIR_OBSERVE
};

struct datadir_lock {
	int fd; /* -1: not held */
	int wrote_pid;
};

/* Takes the lock.  0, or -1 with a message in err: the directory is in use
 * (naming it and the pid of the holder), missing, or not usable. */
int datadir_lock(struct datadir_lock *l, const char *dir, enum datadir_lock_mode mode, char *err,
                 size_t errlen);
/* Releases it (empties the file first).  Safe on a lock not held. */
void datadir_unlock(struct datadir_lock *l);

/* mkdir -p; 0, or -1 with the message in err. */
int datadir_create(const char *dir, char *err, size_t errlen);

#endif
