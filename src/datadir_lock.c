/*
 * datadir_lock.c - the exclusive lock on a data directory (see
 * datadir_lock.h): flock on DATA_DIR/lock, with the holder's pid in it.
 */
#include "datadir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int datadir_create(const char *dir, char *err, size_t errlen)
{
	char buf[4096];
	if (!*dir)
		return errorf(err, errlen, "the data directory's name is empty");
	if (copy_str(buf, sizeof buf, dir) != 0)
		return errorf(err, errlen, "%s: path too long", dir);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return errorf(err, errlen, "cannot create data directory %s: %s", buf,
				              strerror(errno));
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	return 0;
}

/* The pid a holder wrote into the lock file, or 0 if there is none yet. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	return pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

static int open_lock_file(const char *path, enum datadir_lock_mode mode)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (mode == DATADIR_OBSERVE ? 0 : O_CREAT), 0666);
	if (fd >= 0 || mode != DATADIR_OBSERVE)
		return fd;
	if (errno == ENOENT) /* a directory of a version without lock files */
		return open(path, O_RDWR | O_CLOEXEC | O_CREAT, 0666);
	if (errno == EACCES || errno == EROFS) /* observing a directory we may not write */
		return open(path, O_RDONLY | O_CLOEXEC);
	return -1;
}

int datadir_lock(struct datadir_lock *l, const char *dir, enum datadir_lock_mode mode, char *err,
                 size_t errlen)
{
	l->fd = -1;
	l->wrote_pid = 0;
	if (!*dir)
		return errorf(err, errlen, "the data directory's name is empty");
	char path[4096];
	if (mode == DATADIR_CREATE && datadir_create(dir, err, errlen) != 0)
		return -1;
	if (mode != DATADIR_CREATE) {
		/* Nothing to drain, check or set where no run has been. */
		if ((size_t)snprintf(path, sizeof path, "%s/nodes", dir) >= sizeof path)
			return errorf(err, errlen, "%s: path too long", dir);
		if (access(path, F_OK) != 0)
			return errorf(err, errlen, "%s: %s (no run has used this data directory yet?)", path,
			              strerror(errno));
	}
	if ((size_t)snprintf(path, sizeof path, "%s/lock", dir) >= sizeof path)
		return errorf(err, errlen, "%s: path too long", dir);
	int fd = open_lock_file(path, mode);
	if (fd < 0)
		return errorf(err, errlen, "%s: cannot open the data directory's lock: %s", path,
		              strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;
		close(fd);
		if (e != EWOULDBLOCK)
			return errorf(err, errlen, "%s: cannot lock the data directory: %s", path,
			              strerror(e));
		char who[48] = "another ddbsim process";
		if (pid > 0)
			snprintf(who, sizeof who, "ddbsim process %ld", pid);
		return errorf(err, errlen, "data directory %s is in use by %s (a run, drain, check or "
		              "node set: one at a time); try again when it has finished", dir, who);
	}
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	/* A read-only descriptor (check, on a directory it may not write)
	 * leaves the file as it is. */
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) == n)
		l->wrote_pid = 1;
	l->fd = fd;
	return 0;
}

void datadir_unlock(struct datadir_lock *l)
{
	if (l->fd < 0)
		return;
	if (l->wrote_pid && ftruncate(l->fd, 0) != 0) {
		/* The pid stays: the next holder overwrites it. */
	}
	close(l->fd); /* releases the lock */
	l->fd = -1;
	l->wrote_pid = 0;
}
