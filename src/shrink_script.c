/*
 * shrink_script.c - shrunk scenarios (see shrink_script.h): a loaded
 * scenario's schedule as the steps a script writes, and the file: the
 * original script as a function, then its failures replaced and its rates
 * scaled.  Times are written in seconds with six decimals, which the
 * scenario parser reads back to the same microsecond.
 */
#include "shrink_script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_read.h"
#include "lua_text.h"
#include "util.h"

/* ---- the schedule as steps ------------------------------------------------ */

struct keyed_step {
	struct shrink_step st;
	size_t index; /* in the expanded list */
};

static int by_step_then_index(const void *a, const void *b)
{
	const struct keyed_step *x = a, *y = b;
	if (x->st.start.step != y->st.start.step)
		return x->st.start.step < y->st.start.step ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

int shrink_script_steps(const struct scenario_info *si, struct shrink_step **out, size_t *n_out)
{
	struct keyed_step *k = calloc(si->n_failures ? si->n_failures : 1, sizeof *k);
	unsigned char *used = calloc(si->n_failures ? si->n_failures : 1, 1);
	struct shrink_step *steps = calloc(si->n_failures ? si->n_failures : 1, sizeof *steps);
	if (!k || !used || !steps) {
		free(k);
		free(used);
		free(steps);
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < si->n_failures; i++) {
		const struct scenario_failure *f = &si->failures[i];
		if (f->ends)
			continue;
		k[n].st.start = *f;
		k[n].st.start.has_end = 0;
		k[n].st.duration_us = -1;
		k[n].index = i;
		for (size_t j = i + 1; f->has_end && j < si->n_failures; j++) {
			const struct scenario_failure *g = &si->failures[j];
			if (g->ends && !used[j] && g->step == f->step && strcmp(g->target, f->target) == 0) {
				used[j] = 1;
				k[n].st.duration_us = g->at_us - f->at_us;
				break;
			}
		}
		n++;
	}
	qsort(k, n, sizeof *k, by_step_then_index);
	for (size_t i = 0; i < n; i++)
		steps[i] = k[i].st;
	*out = steps;
	*n_out = n;
	free(k);
	free(used);
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* The original script, whole; NULL with err set. */
static char *read_source(const char *path, size_t *len, char *err, size_t errlen)
{
	char *buf;
	return file_read_whole(path, SHRINK_SCRIPT_SOURCE_MAX, &buf, len, err, errlen) == 0 ? buf
	                                                                                  : NULL;
}

/* One step as a Lua table, on one line. */
static void put_step(FILE *out, const struct shrink_step *st)
{
	fputs("  { at = ", out);
	lua_text_seconds(out, st->start.at_us);
	fputs(", ", out);
	lua_text_step_fields(out, &st->start);
	if (st->duration_us >= 0) {
		fputs(", duration = ", out);
		lua_text_seconds(out, st->duration_us);
	}
	fputs(" },\n", out);
}

static const char scale_function[] =
    "-- A rate (a number, a table by region or a function) times k.\n"
    "local function scaled(rate, k)\n"
    "  if type(rate) == \"number\" then\n"
    "    return rate * k\n"
    "  elseif type(rate) == \"table\" then\n"
    "    local t = {}\n"
    "    for region, r in pairs(rate) do\n"
    "      t[region] = type(r) == \"number\" and r * k or r\n"
    "    end\n"
    "    return t\n"
    "  elseif type(rate) == \"function\" then\n"
    "    return function(...)\n"
    "      local r = rate(...)\n"
    "      if type(r) == \"number\" then\n"
    "        return r * k\n"
    "      end\n"
    "      return r\n"
    "    end\n"
    "  end\n"
    "  return rate\n"
    "end\n";

static void put_scaling(FILE *out, const struct shrink_script *s)
{
	if (s->order_scale >= 1 && s->customer_scale >= 1)
		return;
	fprintf(out, "\n%s", scale_function);
	fputs("local workload = scenario.workload\n", out);
	if (s->order_scale < 1)
		fprintf(out, "if type(workload) == \"table\" then\n"
		             "  workload.rate = scaled(workload.rate, %.17g)\n"
		             "end\n", s->order_scale);
	if (s->customer_scale < 1)
		fprintf(out, "if type(workload) == \"table\" and type(workload.customers) == \"table\" "
		             "then\n"
		             "  workload.customers.rate = scaled(workload.customers.rate, %.17g)\n"
		             "end\n", s->customer_scale);
}

static void put_script(FILE *out, const struct shrink_script *s, const char *src, size_t len)
{
	fputs("-- A shrunk scenario, written by ddbsim run --shrink (ddbsim-lua(7), SHRUNK "
	      "SCENARIOS).\n", out);
	if (s->comment)
		fprintf(out, "-- %s\n", s->comment);
	fputs("-- The original script follows unchanged, as a function (its top level draws the\n"
	      "-- same random numbers as before); the lines after it replace its failure\n"
	      "-- schedule and scale its workload.\n", out);
	fputs("-- Original: ", out);
	lua_text_string(out, s->original);
	fputs("\nlocal function original_scenario(...)\n", out);
	if (len > 0 && src[0] == '#')
		fputs("--", out); /* a #! line is valid only on the first line of a chunk */
	fwrite(src, 1, len, out);
	if (len > 0 && src[len - 1] != '\n')
		fputc('\n', out);
	fputs("end\n\nlocal scenario = original_scenario(...)\n", out);
	fprintf(out, "\n-- The failure schedule: %zu step%s.\nscenario.failures = {\n", s->n_steps,
	        s->n_steps == 1 ? "" : "s");
	for (size_t i = 0; i < s->n_steps; i++)
		put_step(out, &s->steps[i]);
	fputs("}\n", out);
	put_scaling(out, s);
	fputs("\nreturn scenario\n", out);
}

int shrink_script_write(const struct shrink_script *s, const char *path, char *err,
                        size_t errlen)
{
	size_t len;
	char *src = read_source(s->original, &len, err, errlen);
	if (!src)
		return -1;
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		free(src);
		return errorf(err, errlen, "%s: path too long", path);
	}
	FILE *out = fopen(tmp, "w");
	if (!out) {
		free(src);
		return errorf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
	}
	put_script(out, s, src, len);
	free(src);
	int bad = ferror(out);
	if (fclose(out) != 0 || bad) {
		remove(tmp);
		return errorf(err, errlen, "%s: cannot write", tmp);
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		remove(tmp);
		return errorf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(e));
	}
	return 0;
}
