/*
 * lua_text.c - values written as Lua source (see lua_text.h).  Errors
 * stay in the FILE's error indicator, for the caller's ferror or fflush.
 */
#include "lua_text.h"

#include <inttypes.h>

#include "scenario.h"
#include "util.h"

void lua_text_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\%03u", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void lua_text_seconds(FILE *out, int64_t us)
{
	fprintf(out, "%" PRId64 ".%06" PRId64, (int64_t)(us / US_PER_S), (int64_t)(us % US_PER_S));
}

static void put_seconds(FILE *out, const char *key, int64_t us)
{
	fprintf(out, ", %s = ", key);
	lua_text_seconds(out, us);
}

static void put_names(FILE *out, const char *key, const char (*names)[DDB_NAME_MAX], size_t n)
{
	fprintf(out, ", %s = { ", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", out);
		lua_text_string(out, names[i]);
	}
	fputs(" }", out);
}

void lua_text_step_fields(FILE *out, const struct scenario_failure *f)
{
	fputs("action = ", out);
	lua_text_string(out, failure_action_name(f->action));
	if (f->target[0]) {
		fputs(", target = ", out);
		lua_text_string(out, f->target);
	}
	if (f->action == FAILURE_SLOW) {
		put_seconds(out, "latency", f->latency_us);
		put_seconds(out, "jitter", f->jitter_us);
	}
	if (f->action == FAILURE_PARTITION || f->action == FAILURE_HEAL) {
		put_names(out, "from", f->from, f->n_from);
		put_names(out, "to", f->to, f->n_to);
		fprintf(out, ", oneway = %s", f->oneway ? "true" : "false");
	}
	if (f->action >= FAILURE_DROP && f->action <= FAILURE_REORDER)
		fprintf(out, ", probability = %.17g", f->probability);
	if (f->action == FAILURE_DELAY)
		put_seconds(out, "delay", f->delay_us);
}
