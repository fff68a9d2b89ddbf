/*
 * test_config.c - the config file: sections, keys, defaults, ${VAR}
 * expansion and the "FILE:LINE: message" errors.  Every config is written
 * into a fresh mkdtemp directory by the test itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"

struct fixture {
	char dir[64];
	char path[128];
	int n_files;
	char files[16][128];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof fx->dir, "%s/ddbsim-config-XXXXXX",
	         tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	for (int i = 0; i < fx->n_files; i++)
		unlink(fx->files[i]);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Writes text to DIR/name; returns its path (valid until the next call). */
static const char *write_file(struct fixture *fx, const char *name, const char *text)
{
	snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, name);
	FILE *f = fopen(fx->path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	int known = 0;
	for (int i = 0; i < fx->n_files; i++)
		known |= strcmp(fx->files[i], fx->path) == 0;
	if (!known) {
		assert_true(fx->n_files < 16);
		snprintf(fx->files[fx->n_files++], sizeof fx->files[0], "%s", fx->path);
	}
	return fx->path;
}

static struct config *load_ok(struct fixture *fx, const char *text)
{
	char err[512] = "";
	const char *path = write_file(fx, "ok.conf", text);
	struct config *cfg = config_load(path, err, sizeof err);
	if (!cfg)
		fail_msg("config_load failed: %s", err);
	return cfg;
}

/* Loads text, expects it to fail with exactly "PATH:LINE: message". */
static void expect_error(struct fixture *fx, const char *text, int line, const char *message)
{
	char err[512] = "", want[768];
	const char *path = write_file(fx, "bad.conf", text);
	struct config *cfg = config_load(path, err, sizeof err);
	if (cfg) {
		config_free(cfg);
		fail_msg("config_load accepted a bad config; expected line %d: %s", line, message);
	}
	snprintf(want, sizeof want, "%s:%d: %s", path, line, message);
	assert_string_equal(err, want);
}

/* As expect_error, but the message must only start with `start`. */
static void expect_error_prefix(struct fixture *fx, const char *text, int line, const char *start)
{
	char err[512] = "", want[768];
	const char *path = write_file(fx, "bad.conf", text);
	struct config *cfg = config_load(path, err, sizeof err);
	if (cfg) {
		config_free(cfg);
		fail_msg("config_load accepted a bad config; expected line %d: %s", line, start);
	}
	snprintf(want, sizeof want, "%s:%d: %s", path, line, start);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error\n  got:  %s\n  want: %s...", err, want);
}

static void assert_option(const struct config_section *s, size_t i, const char *key,
                          const char *value)
{
	assert_true(i < s->n_options);
	assert_string_equal(s->options[i].key, key);
	assert_string_equal(s->options[i].value, value);
}

/* ---- valid files -------------------------------------------------------- */

static void test_full_config(void **state)
{
	struct config *cfg = load_ok(*state,
		"; ddbsim test config\n"                       /* 1 */
		"# another comment\n"                          /* 2 */
		"[ddbsim]\n"                                   /* 3 */
		"plugin_dir = /opt/a/plugins:/opt/b\n"         /* 4 */
		"data_dir = var/data   ; relative: kept\n"     /* 5 */
		"scenario = scripts/lua/basic.lua\n"           /* 6 */
		"seed = 18446744073709551615\n"                /* 7 */
		"\n"                                           /* 8 */
		"[transport]\n"                                /* 9 */
		"plugin = memory\n"                            /* 10 */
		"capacity = 1000\n"                            /* 11 */
		"[regions]\n"                                  /* 12 */
		"plugin = sqlite\n"                            /* 13 */
		"journal = wal\n"                              /* 14 */
		"  [region.boston]\n"                          /* 15 */
		"  plugin = ./plugins/postgres.so\n"           /* 16 */
		"  host = localhost\n"                         /* 17 */
		"  port : 5432\n"                              /* 18 */
		"[central]\n"                                  /* 19 */
		"plugin = sqlite\n"                            /* 20 */
		"[documents]\n"                                /* 21 */
		"plugin = mongo\n"                             /* 22 */
		"uri = mongodb://127.0.0.1:27017/?w=majority\n" /* 23 */
		"[ region.paris ]   ; blanks around the name\n" /* 24 */
		"plugin=sqlite\n");                            /* 25 */
	assert_non_null(strstr(cfg->path, "ok.conf"));
	assert_string_equal(cfg->plugin_dir, "/opt/a/plugins:/opt/b");
	assert_string_equal(cfg->data_dir, "var/data");
	assert_string_equal(cfg->scenario, "scripts/lua/basic.lua");
	assert_int_equal(cfg->has_seed, 1);
	assert_true(cfg->seed == 18446744073709551615ULL);

	assert_int_equal(cfg->n_sections, 6);
	static const char *const names[] = { "transport", "regions", "region.boston",
	                                     "central", "documents", "region.paris" };
	static const int lines[] = { 9, 12, 15, 19, 21, 24 };
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(cfg->sections[i].name, names[i]);
		assert_int_equal(cfg->sections[i].line, lines[i]);
	}

	const struct config_section *s = config_section(cfg, "transport");
	assert_non_null(s);
	assert_string_equal(s->plugin, "memory");
	assert_int_equal(s->n_options, 1);
	assert_option(s, 0, "capacity", "1000");

	s = config_section(cfg, "region.boston");
	assert_non_null(s);
	assert_string_equal(s->plugin, "./plugins/postgres.so");
	assert_int_equal(s->n_options, 2);
	assert_option(s, 0, "host", "localhost");
	assert_option(s, 1, "port", "5432");

	s = config_section(cfg, "documents");
	assert_string_equal(s->plugin, "mongo");
	assert_option(s, 0, "uri", "mongodb://127.0.0.1:27017/?w=majority");

	s = config_section(cfg, "region.paris");
	assert_non_null(s);
	assert_string_equal(s->plugin, "sqlite");
	assert_int_equal(s->n_options, 0);
	config_free(cfg);
}

static void test_defaults(void **state)
{
	struct config *cfg = load_ok(*state, "[transport]\nplugin = memory\n");
	assert_null(cfg->plugin_dir);
	assert_null(cfg->data_dir);
	assert_null(cfg->scenario);
	assert_int_equal(cfg->has_seed, 0);
	assert_int_equal(cfg->n_sections, 1);
	assert_null(config_section(cfg, "regions"));
	config_free(cfg);

	/* An empty file, and [ddbsim] with empty values: all defaults. */
	cfg = load_ok(*state, "");
	assert_int_equal(cfg->n_sections, 0);
	assert_null(cfg->plugin_dir);
	config_free(cfg);

	unsetenv("DDBSIM_TEST_UNSET_DIR");
	cfg = load_ok(*state, "[ddbsim]\nplugin_dir = ${DDBSIM_TEST_UNSET_DIR:-}\n"
	                      "data_dir =\nscenario =\nseed =\n");
	assert_null(cfg->plugin_dir);
	assert_null(cfg->data_dir);
	assert_null(cfg->scenario);
	assert_int_equal(cfg->has_seed, 0);
	config_free(cfg);

	/* A section without keys still exists, with no plugin. */
	cfg = load_ok(*state, "[central]\n[ddbsim]\nseed = 0\n");
	assert_int_equal(cfg->has_seed, 1);
	assert_true(cfg->seed == 0);
	const struct config_section *s = config_section(cfg, "central");
	assert_non_null(s);
	assert_null(s->plugin);
	assert_int_equal(s->n_options, 0);
	assert_int_equal(s->line, 1);
	config_free(cfg);

	config_free(NULL);
}

static void test_options_order(void **state)
{
	struct config *cfg = load_ok(*state,
		"[central]\n"
		"zeta = 1\n"
		"alpha = 2\n"
		"plugin = sqlite\n"
		"mid = 3\n"
		"beta = a = b\n"
		"empty =\n"
		"path = /x;y\n"
		"note = keep # this\n"
		"cut = value ; comment\n");
	const struct config_section *s = config_section(cfg, "central");
	assert_string_equal(s->plugin, "sqlite");
	assert_int_equal(s->n_options, 8);
	assert_option(s, 0, "zeta", "1");
	assert_option(s, 1, "alpha", "2");
	assert_option(s, 2, "mid", "3");
	assert_option(s, 3, "beta", "a = b");
	assert_option(s, 4, "empty", "");
	assert_option(s, 5, "path", "/x;y");
	assert_option(s, 6, "note", "keep # this");
	assert_option(s, 7, "cut", "value");

	/* The ABI helper finds them. */
	struct ddb_open_args args = { .options = s->options, .n_options = s->n_options };
	assert_string_equal(ddb_option_get(&args, "mid", "?"), "3");
	assert_string_equal(ddb_option_get(&args, "nope", "?"), "?");
	config_free(cfg);
}

static void test_line_endings_and_bom(void **state)
{
	struct config *cfg = load_ok(*state,
		"\xEF\xBB\xBF[ddbsim]\r\n"
		"seed = 42\r\n"
		"[transport]\r\n"
		"\tplugin = memory\r\n"
		"\tdepth = 5\r\n"
		"\tqueue = orders");
	assert_true(cfg->seed == 42);
	const struct config_section *s = config_section(cfg, "transport");
	assert_string_equal(s->plugin, "memory");
	/* Indented lines are keys of their own, never continuations. */
	assert_int_equal(s->n_options, 2);
	assert_option(s, 0, "depth", "5");
	assert_option(s, 1, "queue", "orders");
	config_free(cfg);
}

static void test_region_lookup(void **state)
{
	struct config *cfg = load_ok(*state,
		"[regions]\nplugin = sqlite\n"
		"[region.boston]\nplugin = postgres\n"
		"[central]\nplugin = sqlite\n"
		"[documents]\nplugin = mongo\n");
	const struct config_section *s = config_storage_section(cfg, "boston", 1);
	assert_non_null(s);
	assert_string_equal(s->name, "region.boston");
	assert_string_equal(s->plugin, "postgres");
	s = config_storage_section(cfg, "paris", 1);
	assert_non_null(s);
	assert_string_equal(s->name, "regions");
	s = config_storage_section(cfg, "central", 0);
	assert_non_null(s);
	assert_string_equal(s->name, "central");
	s = config_storage_section(cfg, "documents", 0);
	assert_string_equal(s->plugin, "mongo");
	/* A node that is not a region is not looked up in [regions]. */
	assert_null(config_storage_section(cfg, "boston", 0));
	assert_null(config_storage_section(cfg, NULL, 1));
	assert_null(config_storage_section(NULL, "boston", 1));
	/* A long node name is no problem. */
	char longname[300];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	s = config_storage_section(cfg, longname, 1);
	assert_string_equal(s->name, "regions");

	/* config_section: exact names only. */
	assert_null(config_section(cfg, "region"));
	assert_null(config_section(cfg, "Regions"));
	assert_null(config_section(cfg, "ddbsim"));
	assert_non_null(config_section(cfg, "regions"));
	assert_null(config_section(NULL, "regions"));
	config_free(cfg);

	cfg = load_ok(*state, "[region.boston]\nplugin = sqlite\n");
	assert_non_null(config_storage_section(cfg, "boston", 1));
	assert_null(config_storage_section(cfg, "paris", 1));
	config_free(cfg);
}

/* ---- expansion ---------------------------------------------------------- */

static void expect_expand(const char *text, const char *want)
{
	char err[256] = "";
	char *got = config_expand(text, err, sizeof err);
	if (!got)
		fail_msg("config_expand(\"%s\") failed: %s", text, err);
	if (strcmp(got, want) != 0) {
		char copy[256];
		snprintf(copy, sizeof copy, "%s", got);
		free(got);
		fail_msg("config_expand(\"%s\") = \"%s\", want \"%s\"", text, copy, want);
	}
	free(got);
}

static void expect_expand_error(const char *text, const char *want)
{
	char err[256] = "";
	char *got = config_expand(text, err, sizeof err);
	if (got) {
		free(got);
		fail_msg("config_expand(\"%s\") succeeded, want error \"%s\"", text, want);
	}
	assert_string_equal(err, want);
}

static void test_expand(void **state)
{
	(void)state;
	setenv("DDBSIM_T_A", "alpha", 1);
	setenv("DDBSIM_T_EMPTY", "", 1);
	setenv("DDBSIM_T_DOLLAR", "${DDBSIM_T_A}", 1);
	unsetenv("DDBSIM_T_UNSET");

	expect_expand("", "");
	expect_expand("plain", "plain");
	expect_expand("${DDBSIM_T_A}", "alpha");
	expect_expand("x${DDBSIM_T_A}y${DDBSIM_T_A}", "xalphayalpha");
	expect_expand("${DDBSIM_T_EMPTY}", "");
	expect_expand("${DDBSIM_T_A:-dflt}", "alpha");
	expect_expand("${DDBSIM_T_UNSET:-dflt}", "dflt");
	expect_expand("${DDBSIM_T_EMPTY:-dflt}", "dflt");
	expect_expand("${DDBSIM_T_UNSET:-}", "");
	expect_expand("${DDBSIM_T_UNSET:-/var/lib/ddbsim}/data", "/var/lib/ddbsim/data");
	expect_expand("${DDBSIM_T_UNSET:-a:-b c}", "a:-b c");
	/* Nested: the default is expanded too, only when it is used. */
	expect_expand("${DDBSIM_T_UNSET:-${DDBSIM_T_A}/x}", "alpha/x");
	expect_expand("${DDBSIM_T_UNSET:-${DDBSIM_T_EMPTY:-deep}}", "deep");
	expect_expand("${DDBSIM_T_A:-${DDBSIM_T_UNSET}}", "alpha");
	/* A value from the environment is not expanded again. */
	expect_expand("${DDBSIM_T_DOLLAR}", "${DDBSIM_T_A}");
	/* Literal dollars: "$$" is one '$'; a '$' not followed by '{' stays. */
	expect_expand("$$", "$");
	expect_expand("$${DDBSIM_T_A}", "${DDBSIM_T_A}");
	expect_expand("$$$${DDBSIM_T_A}", "$${DDBSIM_T_A}");
	expect_expand("$$${DDBSIM_T_A}", "$alpha");
	expect_expand("cost: $5, $x, end$", "cost: $5, $x, end$");
	expect_expand("a}b{c", "a}b{c");
	expect_expand("${DDBSIM_T_UNSET:-$$5 and $${x}}", "$5 and ${x}");

	expect_expand_error("${DDBSIM_T_UNSET}", "${DDBSIM_T_UNSET} is not set");
	expect_expand_error("a ${DDBSIM_T_UNSET} b", "${DDBSIM_T_UNSET} is not set");
	expect_expand_error("${DDBSIM_T_UNSET:-${DDBSIM_T_UNSET}}", "${DDBSIM_T_UNSET} is not set");
	expect_expand_error("${DDBSIM_T_A", "unterminated '${' in '${DDBSIM_T_A'");
	expect_expand_error("x ${", "unterminated '${' in '${'");
	expect_expand_error("${DDBSIM_T_A:-dflt", "unterminated '${' in '${DDBSIM_T_A:-dflt'");
	expect_expand_error("${DDBSIM_T_A:-${DDBSIM_T_UNSET:-x}",
	                    "unterminated '${' in '${DDBSIM_T_A:-${DDBSIM_T_UNSET:-x}'");
	expect_expand_error("${}", "empty variable name in '${}'");
	expect_expand_error("${1ABC}", "bad variable name in '${1ABC}'");
	expect_expand_error("${A B}", "bad variable name in '${A B}'");
	expect_expand_error("${DDBSIM_T_A-x}",
	                    "unsupported expansion '${DDBSIM_T_A-x}': only ${VAR} and "
	                    "${VAR:-default} are known");
	expect_expand_error("${DDBSIM_T_A:=x}",
	                    "unsupported expansion '${DDBSIM_T_A:=x}': only ${VAR} and "
	                    "${VAR:-default} are known");

	char deep[400] = "", *end = deep;
	for (int i = 0; i < 20; i++)
		end += sprintf(end, "${DDBSIM_T_UNSET:-");
	strcpy(end, "x}}}}}}}}}}}}}}}}}}}}");
	expect_expand_error(deep, "defaults nested more than 16 deep");
	end = deep;
	for (int i = 0; i < 16; i++)
		end += sprintf(end, "${DDBSIM_T_UNSET:-");
	strcpy(end, "x}}}}}}}}}}}}}}}}");
	expect_expand(deep, "x");

	/* NULL err is allowed. */
	assert_null(config_expand("${DDBSIM_T_UNSET}", NULL, 0));

	unsetenv("DDBSIM_T_A");
	unsetenv("DDBSIM_T_EMPTY");
	unsetenv("DDBSIM_T_DOLLAR");
}

static void test_expand_in_file(void **state)
{
	setenv("DDBSIM_T_HOST", "db.example", 1);
	setenv("DDBSIM_T_PLUGIN", "postgres", 1);
	unsetenv("DDBSIM_T_PORT");
	unsetenv("DDBSIM_T_SEED");
	struct config *cfg = load_ok(*state,
		"[ddbsim]\n"
		"seed = ${DDBSIM_T_SEED:-7}\n"
		"data_dir = ${DDBSIM_T_UNSET_DATA:-data}/$$run\n"
		"[central]\n"
		"plugin = ${DDBSIM_T_PLUGIN}\n"
		"conninfo = host=${DDBSIM_T_HOST} port=${DDBSIM_T_PORT:-5432}\n"
		"password = pa$$$$word$\n"
		"template = $${DDBSIM_T_HOST}\n");
	assert_true(cfg->has_seed && cfg->seed == 7);
	assert_string_equal(cfg->data_dir, "data/$run");
	const struct config_section *s = config_section(cfg, "central");
	assert_string_equal(s->plugin, "postgres");
	assert_option(s, 0, "conninfo", "host=db.example port=5432");
	assert_option(s, 1, "password", "pa$$word$");
	assert_option(s, 2, "template", "${DDBSIM_T_HOST}");
	config_free(cfg);
	unsetenv("DDBSIM_T_HOST");
	unsetenv("DDBSIM_T_PLUGIN");
}

/* ---- errors ------------------------------------------------------------- */

static void test_unset_variable(void **state)
{
	unsetenv("DDBSIM_PG_HOST");
	expect_error(*state,
		"[central]\n"
		"plugin = postgres\n"
		"host = ${DDBSIM_PG_HOST}\n",
		3, "${DDBSIM_PG_HOST} is not set");
	expect_error(*state,
		"; comment\n\n[ddbsim]\n\n  ; more\n"
		"scenario = ${DDBSIM_T_NOPE:-${DDBSIM_PG_HOST}}\n",
		6, "${DDBSIM_PG_HOST} is not set");
	expect_error(*state, "[transport]\nplugin = mem${ory\n", 2,
	             "unterminated '${' in '${ory'");
}

static void test_unknown_section_and_key(void **state)
{
	expect_error_prefix(*state, "[ddbsim]\nseed = 1\n\n[database]\nplugin = x\n", 4,
	                    "unknown section [database]");
	expect_error_prefix(*state, "[Transport]\n", 1, "unknown section [Transport]");
	expect_error_prefix(*state, "[]\n", 1, "unknown section []");
	expect_error_prefix(*state, "[region]\n", 1, "unknown section [region]");
	expect_error_prefix(*state, "[transport]\nplugin=memory\n[region.]\n", 3,
	                    "bad region name in [region.]");
	expect_error_prefix(*state, "[region.new york]\n", 1,
	                    "bad region name in [region.new york]");
	expect_error(*state,
		"[ddbsim]\n"
		"seed = 1\n"
		"\n"
		"# x\n"
		"\n"
		"\n"
		"foo = bar\n",
		7, "unknown key 'foo' in [ddbsim]");
	expect_error(*state, "[ddbsim]\nplugin = sqlite\n", 2, "unknown key 'plugin' in [ddbsim]");
	expect_error(*state, "[ddbsim]\nSeed = 1\n", 2, "unknown key 'Seed' in [ddbsim]");
	expect_error(*state, "\nplugin_dir = /x\n[ddbsim]\n", 2,
	             "key 'plugin_dir' before any [section]");
	expect_error(*state, "[transport]\n= memory\n", 2, "empty key in [transport]");
	expect_error(*state, "[transport]\nplugin =\n", 2, "empty plugin name in [transport]");
	expect_error(*state, "[ddbsim] seed = 1\n", 1, "unexpected text after ']': 'seed = 1'");
}

static void test_duplicates(void **state)
{
	expect_error(*state, "[ddbsim]\nseed = 1\ndata_dir = d\nseed = 2\n", 4,
	             "key 'seed' given twice in [ddbsim] (first on line 2)");
	/* Given twice counts even when the first value was empty. */
	expect_error(*state, "[ddbsim]\nscenario =\nscenario = x.lua\n", 3,
	             "key 'scenario' given twice in [ddbsim] (first on line 2)");
	expect_error(*state, "[regions]\nplugin = sqlite\npath = a\n\npath = b\n", 5,
	             "key 'path' given twice in [regions] (first on line 3)");
	expect_error(*state, "[central]\nplugin = sqlite\nplugin = postgres\n", 3,
	             "key 'plugin' given twice in [central] (first on line 2)");
	/* The same key in two sections is fine. */
	struct config *cfg = load_ok(*state, "[regions]\npath = a\n[region.x]\npath = b\n");
	assert_string_equal(config_storage_section(cfg, "x", 1)->options[0].value, "b");
	config_free(cfg);

	expect_error(*state, "[ddbsim]\nseed = 1\n[transport]\n[ddbsim]\n", 4,
	             "section [ddbsim] given twice (first on line 1)");
	expect_error(*state, "[transport]\nplugin = memory\n\n[central]\n[ transport ]\n", 5,
	             "section [transport] given twice (first on line 1)");
	expect_error(*state, "[region.a]\n[region.b]\n[region.a]\n", 3,
	             "section [region.a] given twice (first on line 1)");
}

/* lua_memory_mb, lua_instruction_limit, lua_time_limit_ms: digits only,
 * in range; absent or empty: 0 (the defaults apply). */
static void test_lua_limits(void **state)
{
	struct config *cfg = load_ok(*state, "[ddbsim]\nlua_memory_mb = 64\n"
	                                     "lua_instruction_limit = 1000\n"
	                                     "lua_time_limit_ms = 86400000\n");
	assert_true(cfg->lua_memory_mb == 64);
	assert_true(cfg->lua_instruction_limit == 1000);
	assert_true(cfg->lua_time_limit_ms == 86400000);
	config_free(cfg);
	cfg = load_ok(*state, "[ddbsim]\nlua_memory_mb =\n");
	assert_true(cfg->lua_memory_mb == 0 && cfg->lua_instruction_limit == 0 &&
	            cfg->lua_time_limit_ms == 0);
	config_free(cfg);
	cfg = load_ok(*state, "[ddbsim]\nlua_memory_mb = 1048576\n"
	                      "lua_instruction_limit = 1000000000000000\nlua_time_limit_ms = 1\n");
	assert_true(cfg->lua_memory_mb == 1048576);
	assert_true(cfg->lua_instruction_limit == 1000000000000000ULL);
	assert_true(cfg->lua_time_limit_ms == 1);
	config_free(cfg);

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "lua_memory_mb = 0", "lua_memory_mb must be a decimal integer from 1 to 1048576 "
		                       "(digits only), not '0'" },
		{ "lua_memory_mb = 1048577", "lua_memory_mb must be a decimal integer from 1 to" },
		{ "lua_memory_mb = -1", "lua_memory_mb must be a decimal integer from 1 to" },
		{ "lua_memory_mb = +1", "lua_memory_mb must be a decimal integer from 1 to" },
		{ "lua_memory_mb = 1e3", "lua_memory_mb must be a decimal integer from 1 to" },
		{ "lua_memory_mb = 99999999999999999999999", "lua_memory_mb must be a decimal" },
		{ "lua_instruction_limit = 999", "lua_instruction_limit must be a decimal integer "
		                                 "from 1000 to 1000000000000000 (digits only), not '999'" },
		{ "lua_instruction_limit = 1000000000000001", "lua_instruction_limit must be" },
		{ "lua_instruction_limit = 10M", "lua_instruction_limit must be" },
		{ "lua_time_limit_ms = 0", "lua_time_limit_ms must be a decimal integer from 1 to "
		                           "86400000 (digits only), not '0'" },
		{ "lua_time_limit_ms = 86400001", "lua_time_limit_ms must be" },
		{ "lua_time_limit_ms = 1.5", "lua_time_limit_ms must be" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "[ddbsim]\n%s\n", bad[i].text);
		expect_error_prefix(*state, text, 2, bad[i].msg);
	}
	setenv("DDBSIM_T_LIMIT", " 5", 1);
	expect_error(*state, "[ddbsim]\nlua_memory_mb = ${DDBSIM_T_LIMIT}\n", 2,
	             "lua_memory_mb must be a decimal integer from 1 to 1048576 (digits only), "
	             "not ' 5'");
	unsetenv("DDBSIM_T_LIMIT");
	expect_error(*state, "[ddbsim]\nlua_memory_mb = 5\nlua_memory_mb = 6\n", 3,
	             "key 'lua_memory_mb' given twice in [ddbsim] (first on line 2)");
}

static void test_bad_seed(void **state)
{
	expect_error(*state, "[ddbsim]\nseed = -1\n", 2,
	             "seed must be a non-negative decimal integer, not '-1'");
	expect_error(*state, "[ddbsim]\n\nseed = abc\n", 3,
	             "seed must be a non-negative decimal integer, not 'abc'");
	expect_error(*state, "[ddbsim]\nseed = 12abc\n", 2,
	             "seed must be a non-negative decimal integer, not '12abc'");
	expect_error(*state, "[ddbsim]\nseed = +3\n", 2,
	             "seed must be a non-negative decimal integer, not '+3'");
	expect_error(*state, "[ddbsim]\nseed = 0x10\n", 2,
	             "seed must be a non-negative decimal integer, not '0x10'");
	expect_error(*state, "[ddbsim]\nseed = 1.5\n", 2,
	             "seed must be a non-negative decimal integer, not '1.5'");
	expect_error(*state, "[ddbsim]\nseed = 18446744073709551616\n", 2,
	             "seed '18446744073709551616' does not fit in 64 bits "
	             "(at most 18446744073709551615)");
	expect_error(*state, "[ddbsim]\nseed = 99999999999999999999999\n", 2,
	             "seed '99999999999999999999999' does not fit in 64 bits "
	             "(at most 18446744073709551615)");
	setenv("DDBSIM_T_SEED", " 5", 1);
	expect_error(*state, "[ddbsim]\nseed = ${DDBSIM_T_SEED}\n", 2,
	             "seed must be a non-negative decimal integer, not ' 5'");
	unsetenv("DDBSIM_T_SEED");

	struct config *cfg = load_ok(*state, "[ddbsim]\nseed = 000123\n");
	assert_true(cfg->seed == 123);
	config_free(cfg);
}

static void test_syntax_errors(void **state)
{
	expect_error(*state, "[ddbsim]\nseed = 1\nthis line has no equals sign\n", 3,
	             "syntax error: expected [section], key = value or a comment");
	expect_error(*state, "[transport\nplugin = memory\n", 1,
	             "syntax error: expected [section], key = value or a comment");
	/* The first error wins, whichever found it. */
	expect_error(*state, "[ddbsim]\nbogus\nfoo = 1\n", 2,
	             "syntax error: expected [section], key = value or a comment");
	expect_error(*state, "[ddbsim]\nfoo = 1\nbogus\n", 2, "unknown key 'foo' in [ddbsim]");

	/* Lines up to CONFIG_LINE_MAX - 1 bytes (long connection strings); a
	 * longer one is an error naming its line. */
	static char text[CONFIG_LINE_MAX + 100];
	int n = snprintf(text, sizeof text, "[central]\nplugin = sqlite\nkey = ");
	memset(text + n, 'v', CONFIG_LINE_MAX + 10);
	strcpy(text + n + CONFIG_LINE_MAX + 10, "\n");
	expect_error_prefix(*state, text, 3, "line longer than ");
}

static void test_missing_file(void **state)
{
	struct fixture *fx = *state;
	char path[256], err[512] = "", want[512];
	snprintf(path, sizeof path, "%s/no-such.conf", fx->dir);
	assert_null(config_load(path, err, sizeof err));
	snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);

	/* A directory opens but cannot be read. */
	assert_null(config_load(fx->dir, err, sizeof err));
	snprintf(want, sizeof want, "%s: cannot read: %s", fx->dir, strerror(EISDIR));
	assert_string_equal(err, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_endings_and_bom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_lookup, setup, teardown),
		cmocka_unit_test(test_expand),
		cmocka_unit_test_setup_teardown(test_expand_in_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unset_variable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_section_and_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lua_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
