/*
 * shrink_script.h - writes a shrunk scenario: the original script embedded
 * unchanged as a function, then lines that replace its failure schedule
 * with the given steps and scale its workload's rates.  The file runs on
 * its own (`ddbsim run FILE --seed S`): the original's top level runs as
 * before (the same random draws), so the run differs only in what the
 * lines after it change.  Format: ddbsim-lua(7), SHRUNK SCENARIOS.
 */
#ifndef DDBSIM_SHRINK_SCRIPT_H
#define DDBSIM_SHRINK_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* The largest original script a shrunk scenario embeds. */
#define SHRINK_SCRIPT_SOURCE_MAX (16u << 20)

/* One step of a failure schedule as a script writes it: its start (one
 * target) and how long it lasts (-1: no end). */
struct shrink_step {
	struct scenario_failure start;
	int64_t duration_us;
};

struct shrink_script {
	const char *original;   /* the original script's path */
	const char *comment;    /* a line about where it comes from, or NULL */
	const struct shrink_step *steps;
	size_t n_steps;
	double order_scale;     /* workload.rate x this (1: unchanged) */
	double customer_scale;  /* workload.customers.rate x this */
};

/* The failure schedule of a loaded scenario as steps: one per target (a
 * step with several targets is expanded into one per target), each start
 * with the duration to its end, in the order the script listed them (which
 * keeps the order of steps at the same time).  *out is malloc'd (the
 * caller frees it).  0, or -1 out of memory. */
int shrink_script_steps(const struct scenario_info *si, struct shrink_step **out, size_t *n_out);

/* Writes the scenario to path (replacing it whole); 0, or -1 with err set. */
int shrink_script_write(const struct shrink_script *s, const char *path, char *err,
                        size_t errlen);

#endif
