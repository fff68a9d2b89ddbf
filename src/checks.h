/*
 * checks.h - the built-in invariants, run at the end of every run and by
 * `ddbsim check` / `ddbsim drain` against existing stores:
 *   stock never negative; received - sold = stock, per SKU and region;
 *   every accepted order exactly once at the center, nothing else there;
 *   central sales equal the sum of the regions';
 *   one order-log document per accepted order;
 *   every product at the center and its components in the documents store;
 *   every customer record the same on its home and all its replicas;
 *   no queued write lost, no record twice in a store;
 *   nothing pending in the outboxes and queues.
 * Plus the scenario's own checks, written in Lua.
 */
#ifndef DDBSIM_CHECKS_H
#define DDBSIM_CHECKS_H

#include <stddef.h>

struct world;
struct sync;
struct customers;
struct scenario;
struct metrics;
struct cJSON;

#define CHECK_DETAIL_MAX 1024

struct check_result {
	char name[96];
	int ok;
	char detail[CHECK_DETAIL_MAX];
};

struct check_list {
	struct check_result *v;
	size_t n;
};

/* Runs every check.  cs (the run's customer records), sc (Lua checks) and
 * m (the run's own counts) may be NULL.  *facts receives the figures the checks computed (a cJSON object the
 * caller frees), the same that Lua checks see.  Returns the number of failed
 * checks, or -1 on an error that stopped the checks (message in err). */
int checks_run(struct world *w, struct sync *sync, struct customers *cs, struct scenario *sc,
               const struct metrics *m, struct check_list *out, struct cJSON **facts, char *err,
               size_t errlen);
void check_list_free(struct check_list *l);

#endif
