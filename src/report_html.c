/*
 * report_html.c - writes the HTML report (report_html.h): the page template,
 * CSS and JavaScript of www/report/ (compiled in as C strings), the
 * dygraphs library read from DYGRAPHS_DIR and inlined, and the run as JSON
 * in a <script type="application/json"> block.  Text that goes into the
 * markup is HTML-escaped here; the JSON block has every <, > and & written
 * as \u003c, \u003e, \u0026, so that no value can close the block.
 */
#include "report_html.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file_read.h"
#include "engine.h"
#include "histogram.h"
#include "utf8.h"
#include "util.h"
#include "www_report.h"

#ifndef DYGRAPHS_DIR
#error "DYGRAPHS_DIR: configure defines it"
#endif
#ifndef DYGRAPHS_LICENSE
#define DYGRAPHS_LICENSE ""
#endif

#define LIBRARY_MAX (8u << 20) /* a bound on each file read: dygraphs is 130 KiB */
#define DYGRAPHS_LICENSE_URL "https://github.com/danvk/dygraphs/blob/v2.2.1/LICENSE.txt"

/* The whole of a file, NUL-terminated, in *out (the caller frees it). */
static int read_whole(const char *path, char **out, char *err, size_t errlen)
{
	size_t n;
	char *buf;
	if (file_read_whole(path, LIBRARY_MAX, &buf, &n, err, errlen) != 0) {
		*out = NULL;
		return -1;
	}
	if (strlen(buf) != n) { /* the text goes into a C string */
		free(buf);
		return errorf(err, errlen, "%s: holds a NUL byte", path);
	}
	*out = buf;
	return 0;
}

/* The text of an inlined file must not end the element that holds it. */
static int check_inlinable(const char *text, const char *closing, const char *path, char *err,
                           size_t errlen)
{
	for (const char *p = text; (p = strchr(p, '<')) != NULL; p++)
		if (strncasecmp(p, closing, strlen(closing)) == 0)
			return errorf(err, errlen, "%s: holds \"%s\": cannot be inlined in the report", path,
			              closing);
	return 0;
}

int report_html_open(struct report_html *h, const char *path, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	char js[4200], css[4200], e2[512];
	snprintf(js, sizeof js, "%s/dygraph.min.js", DYGRAPHS_DIR);
	snprintf(css, sizeof css, "%s/dygraph.min.css", DYGRAPHS_DIR);
	if (read_whole(js, &h->dygraphs_js, e2, sizeof e2) != 0 ||
	    read_whole(css, &h->dygraphs_css, e2, sizeof e2) != 0 ||
	    check_inlinable(h->dygraphs_js, "</script", js, e2, sizeof e2) != 0 ||
	    check_inlinable(h->dygraphs_css, "</style", css, e2, sizeof e2) != 0) {
		report_html_discard(h);
		return errorf(err, errlen, "%s: the chart library (libjs-dygraphs): %s", path, e2);
	}
	/* The license notice goes with the library; without the file, a link. */
	if (!DYGRAPHS_LICENSE[0] || read_whole(DYGRAPHS_LICENSE, &h->license, e2, sizeof e2) != 0)
		h->license = NULL;
	if (report_file_open(&h->file, path, err, errlen) != 0) {
		report_html_discard(h);
		return -1;
	}
	return 0;
}

void report_html_discard(struct report_html *h)
{
	report_file_discard(&h->file);
	free(h->dygraphs_js);
	free(h->dygraphs_css);
	free(h->license);
	h->dygraphs_js = h->dygraphs_css = h->license = NULL;
}

int report_html_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		int r;
		switch (*s) {
		case '&': r = fputs("&amp;", out); break;
		case '<': r = fputs("&lt;", out); break;
		case '>': r = fputs("&gt;", out); break;
		case '"': r = fputs("&quot;", out); break;
		case '\'': r = fputs("&#39;", out); break;
		default: r = fputc(*s, out); break;
		}
		if (r == EOF)
			return -1;
	}
	return 0;
}

/* JSON into a <script> element: valid UTF-8, and no <, > or & as such. */
static int write_json_block(FILE *out, const cJSON *root)
{
	char *text = cJSON_PrintUnformatted(root);
	if (!text)
		return -1;
	utf8_scrub(text);
	int ok = 1;
	for (const char *p = text; *p && ok; p++) {
		if (*p == '<')
			ok = fputs("\\u003c", out) != EOF;
		else if (*p == '>')
			ok = fputs("\\u003e", out) != EOF;
		else if (*p == '&')
			ok = fputs("\\u0026", out) != EOF;
		else
			ok = fputc(*p, out) != EOF;
	}
	cJSON_free(text);
	return ok ? 0 : -1;
}

/* What fills the markers of the template, for one page. */
struct page {
	const struct report_html *h;
	const char *title;
	/* The header line, as plain text pieces: escaped when written. */
	const char *verdict, *verdict_class, *line;
	const cJSON *data;
};

static int write_marker(FILE *out, const struct page *pg, const char *name, size_t len)
{
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	const struct report_html *h = pg->h;
	if (IS("TITLE"))
		return report_html_escape(out, pg->title);
	if (IS("STYLE"))
		return fputs(h->dygraphs_css, out) == EOF || fputs("\n", out) == EOF ||
		       fputs(www_report_css, out) == EOF ? -1 : 0;
	if (IS("HEADER")) {
		if (fprintf(out, "<p><span class=\"verdict %s\">", pg->verdict_class) < 0 ||
		    report_html_escape(out, pg->verdict) != 0 || fputs("</span> ", out) == EOF ||
		    report_html_escape(out, pg->line) != 0 || fputs("</p>", out) == EOF)
			return -1;
		return 0;
	}
	if (IS("DATA"))
		return write_json_block(out, pg->data);
	if (IS("SCRIPT"))
		return fputs("<script>\n", out) == EOF || fputs(h->dygraphs_js, out) == EOF ||
		       fputs("\n</script>\n<script>\n", out) == EOF ||
		       fputs(www_report_js, out) == EOF || fputs("</script>", out) == EOF ? -1 : 0;
	if (IS("LICENSE")) {
		if (fputs("dygraphs " , out) == EOF || report_html_escape(out, DYGRAPHS_LICENSE_URL) != 0 ||
		    fputs("\n\n", out) == EOF)
			return -1;
		return h->license ? report_html_escape(out, h->license) : 0;
	}
#undef IS
	return -1; /* a marker the template should not have */
}

/* The template with its markers, <!--@NAME@-->, filled. */
static int write_page(FILE *out, const struct page *pg)
{
	const char *p = www_report_html;
	for (;;) {
		const char *m = strstr(p, "<!--@");
		if (!m)
			return fputs(p, out) == EOF ? -1 : 0;
		const char *name = m + 5, *end = strstr(name, "@-->");
		if (!end)
			return -1;
		if (fwrite(p, 1, (size_t)(m - p), out) != (size_t)(m - p) ||
		    write_marker(out, pg, name, (size_t)(end - name)) != 0)
			return -1;
		p = end + 4;
	}
}

static int commit_page(struct report_html *h, const struct page *pg, char *err, size_t errlen)
{
	int ok = write_page(h->file.f, pg) == 0;
	int rc = report_file_finish(&h->file, ok, err, errlen);
	report_html_discard(h);
	return rc;
}

/* ---- one run ------------------------------------------------------------- */

static void push(cJSON *array, double v)
{
	cJSON_AddItemToArray(array, cJSON_CreateNumber(v));
}

/* The samples as columns: time, cumulative orders, lag, queue depths and node states. */
static void add_series(cJSON *data, const struct run_result *res)
{
	const struct metrics *m = res->metrics;
	cJSON *s = cJSON_AddObjectToObject(data, "series");
	cJSON *t = cJSON_AddArrayToObject(s, "t");
	cJSON *acc = cJSON_AddArrayToObject(s, "accepted");
	cJSON *rej = cJSON_AddArrayToObject(s, "rejected");
	cJSON *p50 = cJSON_AddArrayToObject(s, "lag_p50_ms");
	cJSON *p99 = cJSON_AddArrayToObject(s, "lag_p99_ms");
	cJSON *central = cJSON_AddArrayToObject(s, "central");
	cJSON *docs = cJSON_AddArrayToObject(s, "documents");
	cJSON *by_reason = cJSON_AddObjectToObject(s, "rejected_by_reason");
	cJSON *reasons[METRICS_SAMPLE_REASONS] = { 0 };
	for (size_t i = 0; i < m->n_reasons && i < METRICS_SAMPLE_REASONS; i++)
		reasons[i] = cJSON_AddArrayToObject(by_reason, m->reasons[i].reason);
	cJSON *nodes = cJSON_AddObjectToObject(s, "nodes");
	cJSON *depth[16] = { 0 }, *state[16] = { 0 };
	for (size_t r = 0; r < res->n_nodes && r < 16; r++) {
		if (res->nodes[r].kind != NODE_REGION)
			continue;
		cJSON *n = cJSON_AddObjectToObject(nodes, res->nodes[r].name);
		depth[r] = cJSON_AddArrayToObject(n, "depth");
		state[r] = cJSON_AddArrayToObject(n, "state");
	}
	for (size_t i = 0; i < m->n_samples; i++) {
		const struct depth_sample *d = &m->samples[i];
		push(t, (double)d->at_us / 1e6);
		push(acc, (double)d->accepted);
		push(rej, (double)d->rejected);
		for (size_t k = 0; k < METRICS_SAMPLE_REASONS; k++)
			if (reasons[k])
				push(reasons[k], (double)d->rejected_by_reason[k]);
		cJSON_AddItemToArray(p50, d->lag_p50_us < 0 ? cJSON_CreateNull()
		                                            : cJSON_CreateNumber((double)d->lag_p50_us / 1e3));
		cJSON_AddItemToArray(p99, d->lag_p99_us < 0 ? cJSON_CreateNull()
		                                            : cJSON_CreateNumber((double)d->lag_p99_us / 1e3));
		push(central, (double)d->central);
		push(docs, (double)d->documents);
		for (size_t r = 0; r < 16; r++)
			if (depth[r]) {
				push(depth[r], (double)d->node_queues[r]);
				cJSON_AddItemToArray(state[r],
				                     cJSON_CreateString(node_state_name(d->node_states[r])));
			}
	}
}

/* A histogram as [bucket top in ms, count] pairs, its non-empty buckets
 * only (a bar is placed by its x). */
static void add_histogram(cJSON *parent, const char *name, const struct histogram *h)
{
	cJSON *a = cJSON_AddArrayToObject(parent, name);
	for (int i = 0; i < HIST_BUCKETS; i++) {
		if (!h->buckets[i])
			continue;
		cJSON *pt = cJSON_CreateArray();
		push(pt, (double)hist_bucket_top(i) / 1e3);
		push(pt, (double)h->buckets[i]);
		cJSON_AddItemToArray(a, pt);
	}
}

int report_html_commit_run(struct report_html *h, const struct run_result *res, const char *command,
                           char *err, size_t errlen)
{
	cJSON *data = cJSON_CreateObject();
	cJSON *report = report_json(res);
	if (!data || !report) {
		cJSON_Delete(data);
		cJSON_Delete(report);
		report_html_discard(h);
		return errorf(err, errlen, "%s: out of memory", h->file.path);
	}
	cJSON_AddStringToObject(data, "kind", "run");
	cJSON_AddStringToObject(data, "command", command);
	cJSON_AddItemToObject(data, "report", report);
	add_series(data, res);
	cJSON *hist = cJSON_AddObjectToObject(data, "histograms");
	add_histogram(hist, "latency_ms", &res->metrics->order_latency_us);
	add_histogram(hist, "sync_lag_ms", &res->metrics->sync_lag_us);

	char title[512], line[4600];
	snprintf(title, sizeof title, "ddbsim: %s seed %" PRIu64, res->scenario, res->seed);
	if (res->interrupted)
		snprintf(line, sizeof line, "%s, seed %" PRIu64 ", stopped by %s at t=%.3f s (%s): no "
		         "checks, no state hash", res->scenario, res->seed,
		         report_signal_name(res->interrupted), (double)res->virtual_us / 1e6,
		         res->interrupted_in ? res->interrupted_in : "");
	else
		snprintf(line, sizeof line, "%s, seed %" PRIu64 ", state hash %016" PRIx64, res->scenario,
		         res->seed, res->state_hash);
	struct page pg = {
		.h = h, .title = title, .data = data, .line = line,
		.verdict = res->interrupted ? "interrupted" : res->failed_checks ? "SOME CHECKS FAILED"
		                                                                 : "all checks hold",
		.verdict_class = !res->interrupted && !res->failed_checks ? "ok" : "fail",
	};
	int rc = commit_page(h, &pg, err, errlen);
	cJSON_Delete(data);
	return rc;
}

/* ---- --runs -------------------------------------------------------------- */

void report_html_runs_init(struct report_html_runs *r, const char *scenario)
{
	memset(r, 0, sizeof *r);
	copy_str(r->scenario, sizeof r->scenario, scenario);
}

void report_html_runs_free(struct report_html_runs *r)
{
	cJSON_Delete(r->rows);
	r->rows = NULL;
}

/* The next item of a list separated by sep (advances *list), into out. */
static void next_item(const char **list, char sep, char *out, size_t len)
{
	char stop[2] = { sep, '\0' };
	size_t n = strcspn(*list, stop);
	snprintf(out, len, "%.*s", (int)n, *list);
	*list += n + ((*list)[n] != '\0');
}

int report_html_runs_add(struct report_html_runs *r, uint64_t seed, int failed,
                         uint64_t state_hash, uint64_t accepted, const char *checks,
                         const char *details, const char *command)
{
	if (r->runs++ == 0)
		r->first_seed = seed;
	r->last_seed = seed;
	if (failed)
		r->failed++;
	/* Failures always have a row; passes while fewer than half the rows are taken. */
	if (r->n_rows >= REPORT_HTML_ROWS_MAX || (!failed && r->n_rows >= REPORT_HTML_ROWS_MAX / 2)) {
		r->left_out++;
		return 0;
	}
	if (!r->rows && !(r->rows = cJSON_CreateArray()))
		return -1;
	char hash[32];
	snprintf(hash, sizeof hash, "%016" PRIx64, state_hash);
	cJSON *row = cJSON_CreateObject();
	if (!row)
		return -1;
	cJSON_AddNumberToObject(row, "seed", (double)seed);
	cJSON_AddBoolToObject(row, "ok", !failed);
	cJSON_AddStringToObject(row, "state_hash", hash);
	cJSON_AddNumberToObject(row, "accepted", (double)accepted);
	cJSON_AddStringToObject(row, "command", command);
	cJSON *list = cJSON_AddArrayToObject(row, "failed");
	while (failed && *checks) {
		char name[256], detail[CHECK_DETAIL_MAX];
		next_item(&checks, '\n', name, sizeof name);
		next_item(&details, '\x1f', detail, sizeof detail);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", name);
		cJSON_AddStringToObject(c, "detail", detail);
		cJSON_AddItemToArray(list, c);
	}
	cJSON_AddItemToArray(r->rows, row);
	r->n_rows++;
	return 0;
}

int report_html_commit_runs(struct report_html *h, struct report_html_runs *r, char *err,
                            size_t errlen)
{
	cJSON *data = cJSON_CreateObject();
	cJSON *rows = r->rows ? r->rows : cJSON_CreateArray(); /* the page takes the rows */
	r->rows = NULL;
	if (!data || !rows) {
		cJSON_Delete(data);
		cJSON_Delete(rows);
		report_html_discard(h);
		return errorf(err, errlen, "%s: out of memory", h->file.path);
	}
	cJSON_AddStringToObject(data, "kind", "runs");
	cJSON_AddStringToObject(data, "scenario", r->scenario);
	cJSON_AddNumberToObject(data, "first_seed", (double)r->first_seed);
	cJSON_AddNumberToObject(data, "last_seed", (double)r->last_seed);
	cJSON_AddNumberToObject(data, "runs", (double)r->runs);
	cJSON_AddNumberToObject(data, "passed", (double)(r->runs - r->failed));
	cJSON_AddNumberToObject(data, "failed", (double)r->failed);
	cJSON_AddNumberToObject(data, "rows_left_out", (double)r->left_out);
	cJSON_AddItemToObject(data, "rows", rows);

	char title[4200], line[4400], verdict[64];
	snprintf(title, sizeof title, "ddbsim: %lu runs of %s", r->runs, r->scenario);
	snprintf(line, sizeof line, "%lu runs of %s from seed %" PRIu64 ": %lu passed, %lu failed",
	         r->runs, r->scenario, r->first_seed, r->runs - r->failed, r->failed);
	if (r->failed)
		snprintf(verdict, sizeof verdict, "%lu FAILED", r->failed);
	else
		copy_str(verdict, sizeof verdict, "all hold");
	struct page pg = { .h = h, .title = title, .data = data, .line = line, .verdict = verdict,
		           .verdict_class = r->failed ? "fail" : "ok" };
	int rc = commit_page(h, &pg, err, errlen);
	cJSON_Delete(data);
	return rc;
}
