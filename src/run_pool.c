/*
 * run_pool.c - worker processes that run seeds side by side (see
 * run_pool.h).  The parent hands out jobs as workers become free, so a
 * slow seed holds up one worker only; a job message and a result message
 * each have a fixed size and travel over a pipe of their own per worker.
 */
#define _XOPEN_SOURCE 700
#include "run_pool.h"

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_read.h"
#include "datadir_lock.h"
#include "engine.h"
#include "util.h"

struct job_msg {
	size_t index;
	struct run_pool_job job;
};

struct worker {
	pid_t pid;      /* 0: gone */
	int to_fd;      /* jobs, parent -> worker */
	int from_fd;    /* results, worker -> parent */
	int busy;
	size_t job;     /* the job in flight when busy */
};

struct run_pool {
	const struct engine_options *base;
	struct worker *w;
	size_t n;
	struct sigaction old_sigpipe; /* restored when the pool stops */
};

/* 1 read whole, 0 end of file before anything, -1 error or a short message. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 && got == 0 ? 0 : -1;
		got += (size_t)r;
	}
	return 1;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = write(fd, (const char *)buf + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	return r != 0 && errno != ENOENT ? -1 : 0;
}

int run_pool_remove_tree(const char *dir, char *err, size_t errlen)
{
	if (access(dir, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return errorf(err, errlen, "cannot remove %s: %s", dir, strerror(errno));
	return 0;
}

/* ---- in the worker ------------------------------------------------------- */

/* The names of the failed checks, one newline between them (a name may
 * hold blanks). */
/* The names (details: 0) or the details (1) of the failed checks of res,
 * separated by sep, cut to fit. */
static void join_failed(const struct run_result *res, int details, char sep, char *out,
                        size_t len)
{
	size_t used = 0;
	int first = 1;
	char between[2] = { sep, '\0' };
	out[0] = '\0';
	for (size_t k = 0; k < res->checks.n && used + 1 < len; k++) {
		if (res->checks.v[k].ok)
			continue;
		int w = snprintf(out + used, len - used, "%s%s", first ? "" : between,
		                 details ? res->checks.v[k].detail : res->checks.v[k].name);
		first = 0;
		if (w < 0)
			break;
		used += (size_t)w < len - used ? (size_t)w : len - used - 1;
	}
}

/* Keeps the stores of a failed job: DIR becomes DATA_DIR/seed-S (an older
 * one of that name goes first). */
static void keep_stores(const char *dir, const char *parent, struct run_pool_result *r)
{
	char kept[sizeof r->kept], err[512];
	snprintf(kept, sizeof kept, "%s/seed-%llu", parent, (unsigned long long)r->seed);
	if (run_pool_remove_tree(kept, err, sizeof err) != 0 || rename(dir, kept) != 0) {
		snprintf(r->kept, sizeof r->kept, "%s (could not be kept: %s)", dir, strerror(errno));
		return;
	}
	copy_str(r->kept, sizeof r->kept, kept);
}

/* The most a nodes file may hold to be copied. */
#define NODES_FILE_MAX (1u << 20)

/* A run starts from the node states kept in its data directory (`ddbsim
 * node set`): DATA_DIR/nodes is copied to the worker's directory before
 * each job, as it is.  0, or -1 with err set. */
static int copy_node_states(const char *parent, const char *dir, char *err, size_t errlen)
{
	char from[RUN_POOL_PATH_MAX + 16], to[RUN_POOL_PATH_MAX + 48];
	snprintf(from, sizeof from, "%s/nodes", parent);
	snprintf(to, sizeof to, "%s/nodes", dir);
	char *buf;
	size_t n;
	if (file_read_whole(from, NODES_FILE_MAX, &buf, &n, err, errlen) != 0) {
		if (errno != ENOENT)
			return -1;
		remove(to); /* none: every node up */
		return 0;
	}
	FILE *out = NULL;
	int bad = datadir_create(dir, err, errlen) != 0 ? 2 : 0;
	if (!bad && !(out = fopen(to, "wb")))
		bad = 1;
	if (out && (fwrite(buf, 1, n, out) != n || ferror(out)))
		bad = 1;
	if (out && fclose(out) != 0)
		bad = 1;
	free(buf);
	if (bad == 1)
		return errorf(err, errlen, "cannot copy %s to %s", from, to);
	return bad ? -1 : 0;
}

static void run_job(struct engine_options *o, const struct job_msg *m, const char *parent,
                    struct run_pool_result *r)
{
	struct run_result res;
	memset(r, 0, sizeof *r);
	r->index = m->index;
	r->seed = m->job.seed;
	o->seed = m->job.seed;
	o->scenario_path = m->job.scenario;
	if (copy_node_states(parent, o->data_dir, r->msg, sizeof r->msg) != 0) {
		r->outcome = RUN_POOL_ERROR;
		return;
	}
	if (engine_run(o, &res, r->msg, sizeof r->msg) != 0) {
		r->outcome = RUN_POOL_ERROR;
	} else if (res.interrupted) {
		r->outcome = RUN_POOL_INTERRUPTED;
		r->signal = res.interrupted;
		copy_str(r->where, sizeof r->where, res.interrupted_in ? res.interrupted_in : "");
	} else {
		r->outcome = res.failed_checks ? RUN_POOL_FAILED : RUN_POOL_PASSED;
		r->state_hash = res.state_hash;
		r->orders_accepted = res.metrics ? res.metrics->orders_accepted : 0;
		join_failed(&res, 0, '\n', r->failed, sizeof r->failed);
		join_failed(&res, 1, '\x1f', r->details, sizeof r->details);
	}
	run_result_free(&res);
	if (r->outcome == RUN_POOL_FAILED && m->job.keep_failed)
		keep_stores(o->data_dir, parent, r);
}

static _Noreturn void worker_main(const struct engine_options *base, size_t k, int in_fd,
                                  int out_fd)
{
	char dir[RUN_POOL_PATH_MAX + 32], err[512];
	snprintf(dir, sizeof dir, "%s/worker-%zu", base->data_dir, k + 1);
	struct engine_options o = *base;
	o.data_dir = dir;
	o.on_loaded = NULL;
	struct job_msg *m = malloc(sizeof *m);
	struct run_pool_result *r = malloc(sizeof *r);
	while (m && r && read_full(in_fd, m, sizeof *m) == 1) {
		run_job(&o, m, base->data_dir, r);
		if (write_full(out_fd, r, sizeof *r) != 0)
			break;
	}
	free(m);
	free(r);
	if (run_pool_remove_tree(dir, err, sizeof err) != 0)
		fprintf(stderr, "ddbsim: %s\n", err);
	close(in_fd);
	close(out_fd);
	exit(0);
}

/* ---- in the parent --------------------------------------------------------- */

struct run_pool *run_pool_start(const struct engine_options *base, unsigned workers, char *err,
                                size_t errlen)
{
	if (workers < 1 || workers > RUN_POOL_WORKERS_MAX) {
		errorf(err, errlen, "from 1 to %d workers, not %u", RUN_POOL_WORKERS_MAX, workers);
		return NULL;
	}
	struct run_pool *p = calloc(1, sizeof *p);
	if (!p || !(p->w = calloc(workers, sizeof *p->w))) {
		free(p);
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	p->base = base;
	/* A worker that dies must not take the parent with it when it is
	 * handed its next job. */
	struct sigaction ignore;
	memset(&ignore, 0, sizeof ignore);
	ignore.sa_handler = SIG_IGN;
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPIPE, &ignore, &p->old_sigpipe);
	fflush(stdout);
	fflush(stderr);
	for (size_t k = 0; k < workers; k++) {
		int jobs[2], results[2];
		if (pipe(jobs) != 0) {
			errorf(err, errlen, "cannot create a pipe: %s", strerror(errno));
			break;
		}
		if (pipe(results) != 0) {
			errorf(err, errlen, "cannot create a pipe: %s", strerror(errno));
			close(jobs[0]);
			close(jobs[1]);
			break;
		}
		pid_t pid = fork();
		if (pid == 0) {
			/* Only its own ends: a worker holding another's job pipe
			 * would keep that one from seeing the end of its jobs. */
			for (size_t i = 0; i < p->n; i++) {
				close(p->w[i].to_fd);
				close(p->w[i].from_fd);
			}
			close(jobs[1]);
			close(results[0]);
			worker_main(base, k, jobs[0], results[1]);
		}
		close(jobs[0]);
		close(results[1]);
		if (pid < 0) {
			errorf(err, errlen, "cannot start a worker: %s", strerror(errno));
			close(jobs[1]);
			close(results[0]);
			break;
		}
		p->w[p->n++] = (struct worker){ pid, jobs[1], results[0], 0, 0 };
	}
	if (p->n < workers) {
		char ignored[256];
		run_pool_stop(p, ignored, sizeof ignored);
		return NULL;
	}
	return p;
}

/* How worker k, which stopped answering, ended, for the message; its
 * stores stay where they are. */
static void describe_death(struct run_pool *p, size_t k, struct run_pool_result *r)
{
	struct worker *w = &p->w[k];
	int status = 0;
	pid_t got = waitpid(w->pid, &status, 0);
	w->pid = 0;
	char how[64];
	if (got > 0 && WIFSIGNALED(status))
		snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
	else if (got > 0 && WIFEXITED(status))
		snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof how, "stopped answering");
	snprintf(r->msg, sizeof r->msg, "the worker running seed %llu %s before the seed finished "
	         "(its stores stay in %.1024s/worker-%zu)", (unsigned long long)r->seed, how,
	         p->base->data_dir, k + 1);
}

struct pool_run {
	struct run_pool *p;
	size_t n, next;           /* jobs; the next to hand out */
	size_t oldest;            /* the oldest unfinished job */
	unsigned char done[RUN_POOL_WINDOW]; /* finished, by index % RUN_POOL_WINDOW */
	run_pool_job_fn *job;
	void *ctx;
	struct job_msg msg;
	uint64_t *seeds;          /* the seed of the job in flight, per worker */
};

/* Hands worker w its next job, if there is one it may take. */
static void hand_out(struct pool_run *pr, struct worker *w)
{
	if (w->busy || w->pid == 0 || pr->next >= pr->n || pr->next >= pr->oldest + RUN_POOL_WINDOW)
		return;
	memset(&pr->msg, 0, sizeof pr->msg);
	pr->msg.index = pr->next;
	pr->job(pr->ctx, pr->next, &pr->msg.job);
	pr->seeds[w - pr->p->w] = pr->msg.job.seed;
	if (write_full(w->to_fd, &pr->msg, sizeof pr->msg) != 0)
		return; /* it died: poll sees its results pipe close */
	w->busy = 1;
	w->job = pr->next++;
}

static void finished(struct pool_run *pr, size_t index)
{
	pr->done[index % RUN_POOL_WINDOW] = 1;
	while (pr->oldest < pr->next && pr->done[pr->oldest % RUN_POOL_WINDOW]) {
		pr->done[pr->oldest % RUN_POOL_WINDOW] = 0;
		pr->oldest++;
	}
}

/* Sends the stop signal on to the workers, once. */
static void forward_stop(struct run_pool *p, int *forwarded)
{
	const volatile sig_atomic_t *stop = p->base->stop;
	if (*forwarded || !stop || !*stop)
		return;
	*forwarded = 1;
	for (size_t k = 0; k < p->n; k++)
		if (p->w[k].pid > 0)
			kill(p->w[k].pid, (int)*stop);
}

/* Hands out jobs and collects results until every job handed out is back. */
static int pool_loop(struct run_pool *p, struct pool_run *pr, struct run_pool_result *r,
                     struct pollfd *fds, size_t *who, run_pool_result_fn *result,
                     void *ctx, char *err, size_t errlen)
{
	int stop = 0, forwarded = 0, rc = 0;
	for (;;) {
		forward_stop(p, &forwarded);
		if (forwarded)
			stop = 1;
		size_t nfds = 0;
		for (size_t k = 0; k < p->n; k++) {
			struct worker *w = &p->w[k];
			if (!stop)
				hand_out(pr, w);
			if (w->busy) {
				fds[nfds] = (struct pollfd){ w->from_fd, POLLIN, 0 };
				who[nfds++] = k;
			}
		}
		if (nfds == 0) {
			if (!stop && pr->next < pr->n)
				rc = errorf(err, errlen, "no worker is left to run the seeds");
			break;
		}
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = errorf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < nfds; i++) {
			if (!fds[i].revents)
				continue;
			struct worker *w = &p->w[who[i]];
			int got = read_full(w->from_fd, r, sizeof *r);
			if (got != 1) {
				memset(r, 0, sizeof *r);
				r->index = w->job;
				r->seed = pr->seeds[who[i]];
				r->outcome = RUN_POOL_ERROR;
				describe_death(p, who[i], r);
			}
			w->busy = 0;
			finished(pr, r->index);
			if (result(ctx, r) != 0)
				stop = 1;
		}
	}
	return rc;
}

int run_pool_run(struct run_pool *p, size_t n, run_pool_job_fn *job, run_pool_result_fn *result,
                 void *ctx, char *err, size_t errlen)
{
	struct pool_run *pr = calloc(1, sizeof *pr);
	struct run_pool_result *r = malloc(sizeof *r);
	struct pollfd *fds = calloc(p->n, sizeof *fds);
	size_t *who = calloc(p->n, sizeof *who);
	uint64_t *seeds = calloc(p->n, sizeof *seeds);
	int rc = 0;
	if (!pr || !r || !fds || !who || !seeds) {
		rc = errorf(err, errlen, "out of memory");
	} else {
		*pr = (struct pool_run){ .p = p, .n = n, .job = job, .ctx = ctx, .seeds = seeds };
		rc = pool_loop(p, pr, r, fds, who, result, ctx, err, errlen);
	}
	free(pr);
	free(r);
	free(fds);
	free(who);
	free(seeds);
	return rc;
}

int run_pool_stop(struct run_pool *p, char *err, size_t errlen)
{
	if (!p)
		return 0;
	int rc = 0;
	for (size_t k = 0; k < p->n; k++)
		close(p->w[k].to_fd);
	for (size_t k = 0; k < p->n; k++) {
		int status = 0;
		pid_t got = 0;
		if (p->w[k].pid > 0)
			while ((got = waitpid(p->w[k].pid, &status, 0)) < 0 && errno == EINTR)
				;
		/* A worker ends with 0: anything else (a sanitizer's report, a
		 * crash between two jobs) is an error of the command. */
		if (got > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0) && rc == 0)
			rc = errorf(err, errlen, "worker %zu ended with %s %d", k + 1,
			            WIFSIGNALED(status) ? "signal" : "status",
			            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		close(p->w[k].from_fd);
	}
	sigaction(SIGPIPE, &p->old_sigpipe, NULL);
	free(p->w);
	free(p);
	return rc;
}
