/*
 * test_report_html.c - the HTML report's writer (src/report_html.c): HTML
 * escaping, values kept out of the markup of a whole page, and the order
 * counts and interval lag that each metrics sample carries for its charts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "metrics.h"
#include "report_html.h"

static void escape_text(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(report_html_escape(f, "<script>a & 'b' \"c\"</script> é"), 0);
	fclose(f);
	assert_string_equal(buf, "&lt;script&gt;a &amp; &#39;b&#39; &quot;c&quot;&lt;/script&gt; é");
	free(buf);
}

/* Each sample: the orders so far, by reason, and the lag since the last one. */
static void samples_for_the_charts(void **state)
{
	(void)state;
	static struct metrics m;
	metrics_init(&m);
	m.orders_accepted = 7;
	metrics_reject(&m, "insufficient_stock");
	metrics_reject(&m, "rule:over_limit");
	metrics_reject(&m, "insufficient_stock");
	hist_add(&m.sync_lag_interval_us, 10000);
	hist_add(&m.sync_lag_interval_us, 20000);
	struct depth_sample s = { .at_us = 1000000 };
	metrics_sample(&m, &s);
	assert_int_equal(m.samples[0].accepted, 7);
	assert_int_equal(m.samples[0].rejected, 3);
	assert_int_equal(m.samples[0].rejected_by_reason[0], 2);
	assert_int_equal(m.samples[0].rejected_by_reason[1], 1);
	assert_true(m.samples[0].lag_p50_us >= 10000 && m.samples[0].lag_p50_us <= 20000);
	assert_true(m.samples[0].lag_p99_us >= 19000 && m.samples[0].lag_p99_us <= 20000);
	struct depth_sample t = { .at_us = 2000000 };
	metrics_sample(&m, &t);
	assert_int_equal(m.samples[1].lag_p50_us, -1); /* nothing applied in between */
	assert_int_equal(m.samples[1].lag_p99_us, -1);
	assert_int_equal(m.sync_lag_interval_us.count, 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 24);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 24) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* A page from a run whose check name and detail are markup: they reach the
 * file only escaped (as JSON \u003c in the data block, as &lt; in the
 * title), the library is inlined, and the temp file is gone. */
static void a_page_keeps_values_out_of_the_markup(void **state)
{
	(void)state;
	char dir[] = "/tmp/ddbsim-report-html-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], tmp[160];
	snprintf(path, sizeof path, "%s/r.html", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);

	static struct metrics m;
	metrics_init(&m);
	struct depth_sample s = { .at_us = 1000000 };
	metrics_sample(&m, &s);
	struct check_result checks[1] = { { .ok = 0 } };
	strcpy(checks[0].name, "lua:<script>alert(1)</script>");
	strcpy(checks[0].detail, "</script><img src=x onerror=alert(2)> & more");
	struct run_result res;
	memset(&res, 0, sizeof res);
	res.mode = "run";
	strcpy(res.scenario, "</title><b>scenario</b>");
	res.has_seed = 1;
	res.seed = 42;
	res.metrics = &m;
	res.checks.v = checks;
	res.checks.n = 1;
	res.failed_checks = 1;

	struct report_html h;
	char err[1024];
	assert_int_equal(report_html_open(&h, path, err, sizeof err), 0);
	assert_int_equal(access(tmp, F_OK), 0);
	assert_int_equal(report_html_commit_run(&h, &res, "ddbsim run x --seed 42", err, sizeof err), 0);
	assert_int_not_equal(access(tmp, F_OK), 0);
	char *page = read_all(path);
	assert_non_null(strstr(page, "<!DOCTYPE html>"));
	assert_non_null(strstr(page, "Dygraph"));
	assert_null(strstr(page, "<!--@")); /* every marker filled */
	assert_null(strstr(page, "<script>alert"));
	assert_null(strstr(page, "<img"));
	assert_null(strstr(page, "<b>scenario"));
	assert_non_null(strstr(page, "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
	assert_non_null(strstr(page, "<title>ddbsim: &lt;/title&gt;&lt;b&gt;scenario&lt;/b&gt; seed 42"
	                             "</title>"));
	free(page);
	remove(path);
	rmdir(dir);
}

static void an_unwritable_path_fails_at_open(void **state)
{
	(void)state;
	struct report_html h;
	char err[1024];
	assert_int_equal(report_html_open(&h, "/nonexistent-dir/r.html", err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent-dir/r.html"));
	report_html_discard(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape_text),
		cmocka_unit_test(samples_for_the_charts),
		cmocka_unit_test(a_page_keeps_values_out_of_the_markup),
		cmocka_unit_test(an_unwritable_path_fails_at_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
