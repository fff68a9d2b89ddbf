/*
 * config.h - the INI configuration file (libinih), with ${VAR} and
 * ${VAR:-default} expanded from the environment.
 *
 * Layout of a config file (see doc/ddbsim.conf.5):
 *   [ddbsim]            plugin_dir, data_dir, scenario, seed
 *   [transport]         plugin = NAME, then the plugin's own settings
 *   [regions]           plugin = NAME (default for every region), settings
 *   [region.NAME]       overrides for one region
 *   [central]           plugin = NAME, settings
 *   [documents]         plugin = NAME, settings
 * Every key other than "plugin" in a plugin section is passed to the plugin.
 */
#ifndef DDBSIM_CONFIG_H
#define DDBSIM_CONFIG_H

#include <stddef.h>
#include "ddbsim/plugin.h"

struct config_section {
	char *name;                 /* "transport", "regions", "region.boston", ... */
	char *plugin;               /* value of plugin =, or NULL */
	struct ddb_option *options; /* every other key, in file order */
	size_t n_options;
	int line;                   /* where the section starts */
};

struct config {
	char *path;       /* the file it was read from */
	char *plugin_dir; /* colon-separated directories */
	char *data_dir;
	char *scenario;
	int has_seed;
	unsigned long long seed;
	struct config_section *sections;
	size_t n_sections;
};

/* Reads path.  On error returns NULL and writes "FILE:LINE: message" to err. */
struct config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);

/* The section called name, or NULL. */
const struct config_section *config_section(const struct config *cfg, const char *name);

/* The section that configures a storage node: "region.NAME" if present,
 * else "regions" for a region; "central"; "documents".  NULL if none. */
const struct config_section *config_storage_section(const struct config *cfg, const char *node,
                                                    int is_region);

/* Expands ${VAR} and ${VAR:-default} in text.  Returns a malloc'd string, or
 * NULL with a message in err (an unset variable without default, a missing
 * closing brace). */
char *config_expand(const char *text, char *err, size_t errlen);

#endif
