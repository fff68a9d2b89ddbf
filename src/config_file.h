/*
 * config_file.h - the INI configuration file (libinih), with ${VAR} and
 * ${VAR:-default} expanded from the environment.
 *
 * Layout of a config file (see doc/ddbsim.conf.5):
 *   [ddbsim]            plugin_dir, data_dir, scenario, seed, lua_memory_mb,
 *                       lua_instruction_limit, lua_time_limit_ms
 *   [transport]         plugin = NAME, then the plugin's own settings
 *   [regions]           plugin = NAME (default for every region), settings
 *   [region.NAME]       overrides for one region
 *   [central]           plugin = NAME, settings
 *   [documents]         plugin = NAME, settings
 * Every key other than "plugin" in a plugin section is passed to the plugin.
 *
 * Syntax (libinih, as ddbsim sets it up):
 *   - comments are lines starting with ';' or '#', and " ; ..." at the end of
 *     a line (a ';' after white space; '#' only at the start of a line);
 *   - "key = value" or "key: value"; white space around keys and values is
 *     dropped; leading white space on any line is ignored (keys may be
 *     indented: there are no continuation lines, a value is one line);
 *   - a line holds at most CONFIG_LINE_MAX - 1 characters with Debian's
 *     libinih (199 with a libinih that cannot be told); CRLF and a UTF-8
 *     byte order mark are accepted;
 *   - an unknown section, an unknown key in [ddbsim], a key given twice in a
 *     section, a section given twice, a bad seed or a bad ${...} is an error.
 * Values:
 *   - ${VAR} and ${VAR:-default} are expanded in every value (see
 *     config_expand); keys and section names are not expanded;
 *   - an empty value in [ddbsim] is the same as leaving the key out (so that
 *     "data_dir = ${DDBSIM_DATA:-}" falls back on the default); an empty
 *     "plugin =" is an error;
 *   - seed is a non-negative decimal integer below 2^64 (digits only);
 *   - lua_memory_mb, lua_instruction_limit and lua_time_limit_ms are decimal
 *     integers (digits only) in the ranges below;
 *   - paths are kept as written: a relative path is relative to the working
 *     directory of ddbsim, not to the config file.
 * [region.NAME] replaces [regions] for that region: its options are its
 * own; only a missing "plugin =" is taken from [regions] (src/world.c).
 */
#ifndef DDBSIM_CONFIG_FILE_H
#define DDBSIM_CONFIG_FILE_H

#include <stddef.h>
#include "ddbsim/plugin.h"

/* The longest line a config file may have (with a libinih that lets it be
 * set; else libinih's own limit, 199). */
#define CONFIG_LINE_MAX 8192

/* The ranges of the limits on a scenario script (doc/ddbsim.conf.5). */
#define CONFIG_LUA_MEMORY_MB_MIN 1
#define CONFIG_LUA_MEMORY_MB_MAX 1048576ULL /* 1 TiB */
#define CONFIG_LUA_INSTRUCTIONS_MIN 1000
#define CONFIG_LUA_INSTRUCTIONS_MAX 1000000000000000ULL
#define CONFIG_LUA_TIME_MS_MIN 1
#define CONFIG_LUA_TIME_MS_MAX 86400000ULL /* a day */

struct config_section {
	char *name;                 /* "transport", "regions", "region.boston", ... */
	char *plugin;               /* value of plugin =, or NULL */
	struct ddb_option *options; /* every other key, in file order */
	int *option_lines;          /* the line of each */
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
	/* Limits on the scenario script; 0: not given (the defaults apply). */
	unsigned long long lua_memory_mb;
	unsigned long long lua_instruction_limit;
	unsigned long long lua_time_limit_ms;
	struct config_section *sections;
	size_t n_sections;
};

/* Reads path.  On error returns NULL and writes "FILE:LINE: message" to err
 * ("FILE: message" when the file cannot be opened or read).  Absent keys
 * leave plugin_dir, data_dir and scenario NULL and has_seed 0: the caller
 * fills in the defaults.  [ddbsim] is not in sections[]. */
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
 * closing brace).
 *   ${VAR}          the variable's value ("" when set but empty); unset: error
 *                   "${VAR} is not set"
 *   ${VAR:-default} the value, or default when VAR is unset or empty; the
 *                   default is expanded too (only when used) and ends at the
 *                   first '}' that closes no ${ inside it
 *   $$              one literal '$': a literal "${" is written "$${"
 *   $ not followed by '{' or '$' is literal ("cost $5" stays as it is)
 * VAR is [A-Za-z_][A-Za-z0-9_]*; any other form (${VAR-x}, ${VAR:=x}, ${})
 * and an unterminated ${ are errors.  Values from the environment are not
 * expanded again. */
char *config_expand(const char *text, char *err, size_t errlen);

#endif
