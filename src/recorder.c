/*
 * recorder.c - writes a serve session as a Lua scenario (see recorder.h):
 * a header that takes the rules and workload of the scenario the session
 * ran (required with the session's --param values), its regions and
 * catalog as data, then one `act { at = T, KIND = { ... } }` line per call,
 * and a last `return recorded(DURATION)` that is rewritten after each call.
 */
#include "recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua_text.h"
#include "scenario.h"
#include "util.h"

struct recorder {
	FILE *f;
	char *path;
	const struct scenario_info *si;
	off_t tail;       /* where the last line (the return) starts */
	int64_t last_us;  /* the latest call's time */
	int failed;       /* a write failed: recording stopped */
};

/* ---- writing ---------------------------------------------------------------- */

static void out(struct recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct recorder *r, const char *fmt, ...)
{
	if (r->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vfprintf(r->f, fmt, ap) < 0)
		r->failed = errno ? errno : EIO;
	va_end(ap);
}

/* A write through lua_text.c: its error, in the FILE's indicator, stops
 * the recording as out's does. */
static void check_written(struct recorder *r)
{
	if (!r->failed && ferror(r->f))
		r->failed = errno ? errno : EIO;
}

static void out_str(struct recorder *r, const char *s)
{
	if (r->failed)
		return;
	lua_text_string(r->f, s);
	check_written(r);
}

/* Seconds, exactly: the microseconds as a decimal. */
static void out_secs(struct recorder *r, int64_t us)
{
	if (r->failed)
		return;
	lua_text_seconds(r->f, us);
	check_written(r);
}

static void out_time(struct recorder *r, const char *key, int64_t us)
{
	out(r, "%s = ", key);
	out_secs(r, us);
}

static void out_price(struct recorder *r, int64_t cents)
{
	out(r, "price = %" PRId64 ".%02" PRId64, cents / 100, cents % 100);
}

static void out_components(struct recorder *r, const struct ddb_product *p)
{
	out(r, "components = {");
	for (size_t k = 0; k < p->n_components; k++) {
		out(r, "%s[", k ? ", " : " ");
		out_str(r, p->components[k].sku);
		out(r, "] = %" PRId64, p->components[k].quantity);
	}
	out(r, " }");
}

/* stock[i] for region i, the regions with none left out. */
static void out_stock(struct recorder *r, const int64_t *stock, size_t stride)
{
	out(r, "stock = {");
	int first = 1;
	for (size_t i = 0; i < r->si->n_regions; i++) {
		int64_t q = stock[i * stride];
		if (q <= 0)
			continue;
		out(r, "%s[", first ? " " : ", ");
		out_str(r, r->si->regions[i]);
		out(r, "] = %" PRId64, q);
		first = 0;
	}
	out(r, " }");
}

/* The last line: the scenario, its workload ending at end_us; flushed. */
static void out_tail(struct recorder *r, int64_t end_us)
{
	if (r->failed)
		return;
	r->tail = ftello(r->f);
	out(r, "return recorded(");
	out_secs(r, end_us > 0 ? end_us : 1);
	out(r, ")\n");
	if (!r->failed && (fflush(r->f) != 0 || ftruncate(fileno(r->f), ftello(r->f)) != 0))
		r->failed = errno ? errno : EIO;
}

static void stop_if_failed(struct recorder *r)
{
	if (r->failed == 0 || r->failed == -1)
		return;
	fprintf(stderr, "ddbsim: --record %s: cannot write: %s; the recording stops here (the "
	                "session goes on)\n", r->path, strerror(r->failed));
	r->failed = -1;
}

/* Starts a call's line: back over the last line, at = T. */
static int begin_call(struct recorder *r, int64_t at_us)
{
	if (!r || r->failed)
		return 0;
	if (fseeko(r->f, r->tail, SEEK_SET) != 0) {
		r->failed = errno ? errno : EIO;
		stop_if_failed(r);
		return 0;
	}
	if (at_us > r->last_us)
		r->last_us = at_us;
	out(r, "act { ");
	out_time(r, "at", at_us);
	out(r, ", ");
	return 1;
}

static void end_call(struct recorder *r)
{
	out(r, " }\n");
	out_tail(r, r->last_us);
	stop_if_failed(r);
}

/* ---- the header ------------------------------------------------------------- */

/* The module name that finds the scenario with require from the recording
 * (the script directory, or the recording's own), or NULL. */
static char *base_module(const char *scenario, const char *script_dir, const char *record)
{
	char sdir[PATH_MAX], bdir[PATH_MAX], rdir[PATH_MAX], tmp[PATH_MAX], name[PATH_MAX];
	if (!realpath(scenario, tmp))
		return NULL;
	char *slash = strrchr(tmp, '/');
	copy_str(name, sizeof name, slash + 1);
	const char *base = name;
	size_t len = strlen(base);
	if (len < 5 || strcmp(base + len - 4, ".lua") != 0 ||
	    strspn(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len - 4)
		return NULL;
	*slash = 0;
	copy_str(sdir, sizeof sdir, tmp);
	int reachable = script_dir && realpath(script_dir, bdir) && strcmp(bdir, sdir) == 0;
	copy_str(tmp, sizeof tmp, record);
	slash = strrchr(tmp, '/');
	if (slash)
		*slash = 0;
	if (!reachable && realpath(slash ? tmp : ".", rdir) && strcmp(rdir, sdir) == 0)
		reachable = 1;
	if (!reachable)
		return NULL;
	char *m = strdup(base);
	if (m)
		m[len - 4] = 0;
	return m;
}

static void out_header(struct recorder *r, const struct recorder_setup *s, const char *module)
{
	const struct scenario_info *si = s->si;
	out(r, "-- A session of `ddbsim serve` on %s (seed %" PRIu64 "), recorded with --record:\n"
	       "-- each call that changed something, at its engine time.  Replay it with\n"
	       "--   ddbsim run THIS_FILE --seed %" PRIu64 "\n"
	       "-- and the session's config: see ddbsim-lua(7), RECORDED SESSIONS.\n",
	    s->scenario_path, s->seed, s->seed);
	if (module) {
		out(r, "\n-- The rules, workload, checks, restocks and failures of %s.lua, as the\n"
		       "-- session had them (with its --param values).\n"
		       "local recorded_params = {", module);
		for (size_t i = 0; i < s->n_params; i++) {
			out(r, "%s[", i ? ", " : " ");
			out_str(r, s->params[i].key);
			out(r, "] = ");
			out_str(r, s->params[i].value);
		}
		out(r, " }\n"
		       "local param = ddbsim.param\n"
		       "ddbsim.param = function(name, default)\n"
		       "  local v = recorded_params[name]\n"
		       "  if v == nil then return default end\n"
		       "  if type(default) == \"number\" then return tonumber(v) end\n"
		       "  return v\n"
		       "end\n"
		       "local base = require ");
		out_str(r, module);
		out(r, "\nddbsim.param = param\n");
	} else {
		out(r, "\n-- %s cannot be required from here (it is neither in the script\n"
		       "-- directory nor beside this file): its rules, workload, checks, restocks\n"
		       "-- and failures are not part of this replay.\n"
		       "local base = {}\n", s->scenario_path);
	}
	out(r, "\nlocal regions = {");
	for (size_t i = 0; i < si->n_regions; i++) {
		out(r, "%s", i ? ", " : " ");
		out_str(r, si->regions[i]);
	}
	out(r, " }\n\nlocal catalog = {\n");
	for (size_t i = 0; i < si->n_products; i++) {
		const struct ddb_product *p = &si->products[i];
		out(r, "  { sku = ");
		out_str(r, p->sku);
		out(r, ", name = ");
		out_str(r, p->name);
		out(r, ", ");
		out_price(r, p->price_cents);
		out(r, ",\n    ");
		out_components(r, p);
		out(r, ", ");
		out_stock(r, &si->stock[i], si->n_products);
		out(r, " },\n");
	}
	out(r, "}\n\n"
	       "local actions = {}\n"
	       "local function act(a) actions[#actions + 1] = a end\n\n"
	       "local function recorded(duration)\n"
	       "  return {\n"
	       "    name = ");
	out_str(r, si->name);
	out(r, ",\n"
	       "    description = \"a recorded session of ddbsim serve\",\n"
	       "    duration = duration, regions = regions, catalog = catalog,\n"
	       "    workload = base.workload, rules = base.rules, checks = base.checks,\n"
	       "    restocks = base.restocks, failures = base.failures,\n"
	       "    actions = actions,\n"
	       "  }\n"
	       "end\n\n");
}

int recorder_open(struct recorder **outp, const char *path, const struct recorder_setup *s,
                  char *err, size_t errlen)
{
	*outp = NULL;
	struct recorder *r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path))) {
		free(r);
		return errorf(err, errlen, "out of memory");
	}
	r->si = s->si;
	if (!(r->f = fopen(path, "w+"))) {
		int e = errno;
		free(r->path);
		free(r);
		return errorf(err, errlen, "--record %s: %s", path, strerror(e));
	}
	char *module = base_module(s->scenario_path, s->script_dir, path);
	if (!module)
		fprintf(stderr, "ddbsim: --record %s: %s cannot be required from where the recording "
		                "is: its rules and workload will not be part of the replay (record "
		                "beside it)\n", path, s->scenario_path);
	out_header(r, s, module);
	free(module);
	out_tail(r, 0);
	if (r->failed) {
		int e = r->failed;
		fclose(r->f);
		free(r->path);
		free(r);
		return errorf(err, errlen, "--record %s: %s", path, strerror(e));
	}
	*outp = r;
	return 0;
}

void recorder_close(struct recorder *r, int64_t end_us)
{
	if (!r)
		return;
	if (!r->failed && fseeko(r->f, r->tail, SEEK_SET) == 0) {
		out_tail(r, end_us > r->last_us ? end_us : r->last_us);
		stop_if_failed(r);
	}
	if (fclose(r->f) != 0 && !r->failed)
		fprintf(stderr, "ddbsim: --record %s: %s\n", r->path, strerror(errno));
	free(r->path);
	free(r);
}

/* ---- the calls ------------------------------------------------------------------ */

void recorder_order(struct recorder *r, int64_t at_us, const char *region,
                    const struct ddb_order *o)
{
	if (!begin_call(r, at_us))
		return;
	out(r, "order = { region = ");
	out_str(r, region);
	out(r, ", sku = ");
	out_str(r, o->sku);
	out(r, ", quantity = %" PRId64, o->quantity);
	if (o->customer[0]) {
		out(r, ", customer = ");
		out_str(r, o->customer);
	}
	if (o->id[0]) {
		out(r, ", id = ");
		out_str(r, o->id);
	}
	out(r, " }");
	end_call(r);
}

void recorder_commit(struct recorder *r, int64_t at_us, const char *region)
{
	if (!begin_call(r, at_us))
		return;
	out(r, "commit = ");
	out_str(r, region);
	end_call(r);
}

void recorder_product(struct recorder *r, int64_t at_us, const struct ddb_product *p,
                      const int64_t *stock)
{
	if (!begin_call(r, at_us))
		return;
	out(r, "product = { sku = ");
	out_str(r, p->sku);
	out(r, ", name = ");
	out_str(r, p->name);
	out(r, ", price_cents = %" PRId64 ",\n    ", p->price_cents);
	out_components(r, p);
	out(r, ", ");
	out_stock(r, stock, 1);
	out(r, " }");
	end_call(r);
}

void recorder_customer(struct recorder *r, int64_t at_us, const struct customer_request *q)
{
	static const char *const ops[] = { "", "create", "update", "delete" };
	static const char *const fields[] = { "unique_id", "zip", "city", "state", "name", "email" };
	if (!r || q->op < CUSTOMER_CREATE || q->op > CUSTOMER_DELETE || !begin_call(r, at_us))
		return;
	const struct ddb_customer *c = &q->c;
	out(r, "customer = { op = \"%s\", id = ", ops[q->op]);
	out_str(r, c->id);
	out(r, ", unique_id = ");
	out_str(r, c->unique_id);
	out(r, ", zip = %" PRId64 ", city = ", c->zip_prefix);
	out_str(r, c->city);
	out(r, ", state = ");
	out_str(r, c->state);
	if (c->name[0]) { /* optional fields: absent when empty */
		out(r, ", name = ");
		out_str(r, c->name);
	}
	if (c->email[0]) {
		out(r, ", email = ");
		out_str(r, c->email);
	}
	if (q->op == CUSTOMER_UPDATE) {
		out(r, ", changed = {");
		int first = 1;
		for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
			if (q->changed & (1u << k)) {
				out(r, "%s\"%s\"", first ? " " : ", ", fields[k]);
				first = 0;
			}
		out(r, " }");
	}
	out(r, " }");
	end_call(r);
}

void recorder_step(struct recorder *r, int64_t at_us, const struct scenario_failure *f,
                   int64_t for_us, long id)
{
	if (!begin_call(r, at_us))
		return;
	out(r, "step = { ");
	if (!r->failed) {
		lua_text_step_fields(r->f, f);
		check_written(r);
	}
	if (for_us > 0) {
		out(r, ", ");
		out_time(r, "[\"for\"]", for_us);
	}
	out(r, " }, id = %ld", id);
	end_call(r);
}

void recorder_end_step(struct recorder *r, int64_t at_us, long id)
{
	if (!begin_call(r, at_us))
		return;
	out(r, "end_step = %ld", id);
	end_call(r);
}

void recorder_checks(struct recorder *r, int64_t at_us)
{
	if (!begin_call(r, at_us))
		return;
	out(r, "checks = true");
	end_call(r);
}

void recorder_action(struct recorder *r, int64_t at_us, const struct scenario_action *a,
                     long step_id)
{
	if (!r)
		return;
	switch (a->kind) {
	case ACTION_ORDER:
		recorder_order(r, at_us, a->order.region, &a->order);
		break;
	case ACTION_COMMIT:
		recorder_commit(r, at_us, r->si->regions[a->region]);
		break;
	case ACTION_PRODUCT:
		recorder_product(r, at_us, &a->product->product, a->product->stock);
		break;
	case ACTION_CUSTOMER:
		recorder_customer(r, at_us, a->customer);
		break;
	case ACTION_STEP:
		if (step_id > 0)
			recorder_step(r, at_us, &a->step->f, a->step->for_us, step_id);
		break;
	case ACTION_END_STEP:
		if (step_id > 0)
			recorder_end_step(r, at_us, step_id);
		break;
	case ACTION_CHECKS:
		recorder_checks(r, at_us);
		break;
	}
}
