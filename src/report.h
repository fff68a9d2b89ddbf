/*
 * report.h - the report of a run, drain or check: text for the terminal,
 * JSON for --report FILE (same content).
 */
#ifndef DDBSIM_REPORT_H
#define DDBSIM_REPORT_H

#include <stddef.h>
#include <stdio.h>

struct run_result;
struct cJSON;

struct cJSON *report_json(const struct run_result *res);
/* "SIGINT", "SIGTERM", ...: for the report of an interrupted run. */
const char *report_signal_name(int sig);
void report_text(const struct run_result *res, FILE *out);
/* A JSON report on its way to a file, in two steps: report_file_open, before
 * the run, creates PATH.tmp, so that a path that cannot be written fails
 * before anything runs; report_file_commit writes the report there and
 * renames it over PATH, so that an existing report is replaced only by a
 * whole new one.  A PATH that exists and is not a regular file (a device, a
 * pipe) is written in place.  report_file_discard gives up (removes the
 * temp file); commit does it too, on success or failure. */
struct report_file {
	char path[4096];
	char tmp[4200]; /* "" when written in place */
	FILE *f;
};
int report_file_open(struct report_file *rf, const char *path, char *err, size_t errlen);
int report_file_commit(struct report_file *rf, const struct run_result *res, char *err,
                       size_t errlen);
void report_file_discard(struct report_file *rf);
/* For other writers of rf->f (the HTML report): flushes and closes it, then
 * renames the temp file over PATH when ok (nothing failed while writing);
 * discards it otherwise.  0, or -1 with a message. */
int report_file_finish(struct report_file *rf, int ok, char *err, size_t errlen);

#endif
