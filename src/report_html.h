/*
 * report_html.h - the HTML report of `ddbsim run --html FILE`: one
 * self-contained page (dygraphs inlined, no network) with the run's charts
 * over virtual time, its histograms, checks and the command that reproduces
 * it; with --runs, the table of the seeds, failures first.
 */
#ifndef DDBSIM_REPORT_HTML_H
#define DDBSIM_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

struct run_result;
struct cJSON;

/* The page on its way to PATH: report_html_open, before anything runs,
 * reads the chart library (from DYGRAPHS_DIR, found by configure) and
 * creates PATH.tmp, so that a missing library or a path that cannot be
 * written fails first; a commit writes the page and renames it over PATH;
 * report_html_discard gives up (commit does it too). */
struct report_html {
	struct report_file file;
	char *dygraphs_js, *dygraphs_css, *license;
};

int report_html_open(struct report_html *h, const char *path, char *err, size_t errlen);
/* One run; command: how to reproduce it. */
int report_html_commit_run(struct report_html *h, const struct run_result *res, const char *command,
                           char *err, size_t errlen);
void report_html_discard(struct report_html *h);

/* The rows of a --runs sweep, gathered run by run: failing seeds up to
 * REPORT_HTML_ROWS_MAX rows, passing seeds up to half of that; the others
 * are only counted (left_out). */
#define REPORT_HTML_ROWS_MAX 10000
struct report_html_runs {
	struct cJSON *rows;
	size_t n_rows;
	unsigned long runs, failed, left_out;
	uint64_t first_seed, last_seed;
	char scenario[4096];
};

void report_html_runs_init(struct report_html_runs *r, const char *scenario);
/* 0, or -1 when out of memory. */
/* A seed of the sweep: failed, its state hash, orders accepted, the names
 * of its failed checks (one per line) and their details (in that order,
 * separated by '\x1f'), and the command that reproduces it. */
int report_html_runs_add(struct report_html_runs *r, uint64_t seed, int failed,
                         uint64_t state_hash, uint64_t accepted, const char *checks,
                         const char *details, const char *command);
/* Writes the page; the rows go with it (r keeps only its counts). */
int report_html_commit_runs(struct report_html *h, struct report_html_runs *r, char *err,
                            size_t errlen);
void report_html_runs_free(struct report_html_runs *r);

/* Writes s to out with & < > " ' as character references. */
int report_html_escape(FILE *out, const char *s);

#endif
