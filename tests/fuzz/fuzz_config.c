/*
 * fuzz_config.c - the INI config reader (src/config_file.c) on any bytes.
 *
 * The input is written to a file and read with config_load(), as
 * `ddbsim -c FILE` reads it, and also expanded whole as one value with
 * config_expand().  A few variables are set (one empty) and a few unset,
 * so that ${VAR} and ${VAR:-default} take every branch the same way on
 * every run.  Besides the sanitizers, the harness checks that a refusal
 * names the file and that what was read holds together: every section has
 * a name and is found by it, every option has a key and a value, and none
 * of them holds an end of line.
 */
#include "config_file.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const set_vars[][2] = {
	{ "DDBSIM_PLUGIN_DIR", "/fuzz/plugins" },
	{ "DDBSIM_FUZZ", "value" },
	{ "RABBITMQ_USER", "fuzz" },
	{ "PGHOST", "" },                     /* set but empty: the default applies */
	{ "DDBSIM_FUZZ_DOLLAR", "${NOT_AGAIN}" }, /* a value is not expanded again */
};
static const char *const unset_vars[] = { "DDBSIM_DATA_DIR", "AMQP_URL", "DDBSIM_PG_CONNINFO",
	                                  "DDBSIM_MONGO_URI", "PGPORT", "RABBITMQ_HOST" };

static void check_string(const char *what, const char *s)
{
	if (!s)
		fuzz_fail("%s is NULL", what);
	if (strchr(s, '\n'))
		fuzz_fail("%s holds an end of line: '%s'", what, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[4200];
	if (!path[0]) {
		snprintf(path, sizeof path, "%s/ddbsim.conf", fuzz_scratch_dir());
		for (size_t i = 0; i < sizeof set_vars / sizeof set_vars[0]; i++)
			setenv(set_vars[i][0], set_vars[i][1], 1);
		for (size_t i = 0; i < sizeof unset_vars / sizeof unset_vars[0]; i++)
			unsetenv(unset_vars[i]);
	}
	fuzz_write_file(path, data, size);
	char err[1024] = "";
	struct config *cfg = config_load(path, err, sizeof err);
	if (!cfg) {
		if (strncmp(err, path, strlen(path)) != 0)
			fuzz_fail("config_load refused the file without naming it: '%s'", err);
	} else {
		if (cfg->plugin_dir)
			check_string("plugin_dir", cfg->plugin_dir);
		if (cfg->data_dir)
			check_string("data_dir", cfg->data_dir);
		if (cfg->scenario)
			check_string("scenario", cfg->scenario);
		for (size_t i = 0; i < cfg->n_sections; i++) {
			const struct config_section *s = &cfg->sections[i];
			check_string("a section's name", s->name);
			if (s->plugin)
				check_string("plugin", s->plugin);
			if (config_section(cfg, s->name) != s)
				fuzz_fail("section [%s] is found as another", s->name);
			for (size_t j = 0; j < s->n_options; j++) {
				check_string("a key", s->options[j].key);
				check_string("a value", s->options[j].value);
			}
			if (strncmp(s->name, "region.", 7) == 0 &&
			    config_storage_section(cfg, s->name + 7, 1) != s)
				fuzz_fail("[%s] does not configure region %s", s->name, s->name + 7);
		}
		config_free(cfg);
	}

	/* The whole input as one value. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	char *out = config_expand(text, err, sizeof err);
	if (!out && !err[0])
		fuzz_fail("config_expand failed without a message");
	free(out);
	free(text);
	return 0;
}
