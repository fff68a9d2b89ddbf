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
void report_text(const struct run_result *res, FILE *out);
/* Writes the JSON report to path (atomically: a temp file, then rename). */
int report_write(const struct run_result *res, const char *path, char *err, size_t errlen);

#endif
