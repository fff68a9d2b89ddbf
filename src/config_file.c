/*
 * config_file.c - reads the INI configuration file with libinih and expands
 * ${VAR} and ${VAR:-default} in its values.
 *
 * libinih (r55) does not pass line numbers to the handler, so the file is fed
 * to ini_parse_stream() through our own reader, one whole line per call.  The
 * reader counts the lines, so the handler knows the line of the key it is
 * given; it also reads the [section] headers itself (inih does not report a
 * section that has no keys) and checks them before inih sees them.  The
 * reader hands inih every line without its leading white space: inih then
 * never takes an indented line for the continuation of the previous value,
 * so keys may be indented and a value is always one line.
 *
 * The first error stops the parse (the reader returns end of file); errors
 * found by inih itself (a line that is neither a section nor key = value)
 * are reported with the line inih returns.
 */
#include "config_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <ini.h>

/* ---- error messages ----------------------------------------------------- */

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

PRINTF_LIKE(3, 4)
static void put_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- a growing string --------------------------------------------------- */

struct buf {
	char *s;
	size_t len, cap;
	int oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->s, cap);
		if (!grown) {
			b->oom = 1;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* ---- ${VAR} expansion --------------------------------------------------- */

static int is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* How deep ${A:-${B:-...}} may nest. */
#define MAX_NESTING 16

/* The name of a variable, NUL-terminated in var[VAR_NAME_MAX]; 0, or -1 if it is too long. */
#define VAR_NAME_MAX 256

static int copy_var_name(char *var, const char *name, size_t n)
{
	if (n >= VAR_NAME_MAX)
		return -1;
	memcpy(var, name, n);
	var[n] = '\0';
	return 0;
}

/* "${" not followed by a name: says which of the errors it is; -1. */
static int bad_name_error(const char *start, size_t n, char *err, size_t errlen)
{
	size_t shown = strcspn(start, "}");
	if (start[shown] != '}')
		put_err(err, errlen, "unterminated '${' in '%s'", start);
	else if (n == 0 && shown == 2)
		put_err(err, errlen, "empty variable name in '${}'");
	else
		put_err(err, errlen, "bad variable name in '%.*s'", (int)shown + 1, start);
	return -1;
}

/* "${NAME" followed by neither '}' nor ":-": says which of the errors it is; -1. */
static int unknown_expansion_error(const char *start, const char *after, char *err,
                                   size_t errlen)
{
	size_t shown = strcspn(start, "}");
	int closed = start[shown] == '}';
	if (!closed)
		put_err(err, errlen, "unterminated '${' in '%s'", start);
	else if (strchr(":-=?+#%/", *after))
		put_err(err, errlen,
		        "unsupported expansion '%.*s': only ${VAR} and ${VAR:-default} are known",
		        (int)shown + 1, start);
	else
		put_err(err, errlen, "bad variable name in '%.*s'", (int)shown + 1, start);
	return -1;
}

/* ${VAR}, start at "${", the name of n characters at name and '}' after
 * it: VAR's value, which must be set, into out. 0, or -1 with err set. */
static int expand_variable(struct buf *out, const char *start, const char *name, size_t n,
                           char *err, size_t errlen)
{
	if (!out)
		return 0;
	char var[VAR_NAME_MAX];
	if (copy_var_name(var, name, n) != 0) {
		put_err(err, errlen, "variable name too long in '%.*s'", (int)(name + n - start) + 1,
		        start);
		return -1;
	}
	const char *v = getenv(var);
	if (!v) {
		put_err(err, errlen, "${%s} is not set", var);
		return -1;
	}
	buf_add(out, v, strlen(v));
	return 0;
}

static int expand_into(struct buf *out, const char **pp, int nested, char *err, size_t errlen);

/* ${VAR:-default}, start at "${", the name of n characters at name and
 * ":-" after it: VAR's value if it is set and not empty, else the default,
 * expanded in turn, into out. Leaves *end past the closing '}'. 0, or -1
 * with err set. */
static int expand_with_default(struct buf *out, const char *start, const char *name, size_t n,
                               int nested, const char **end, char *err, size_t errlen)
{
	const char *v = NULL;
	if (out) {
		char var[VAR_NAME_MAX];
		if (copy_var_name(var, name, n) != 0) {
			put_err(err, errlen, "variable name too long in '${%.*s'", (int)n, name);
			return -1;
		}
		v = getenv(var);
		if (v && !*v)
			v = NULL;
	}
	const char *q = name + n + 2;
	if (expand_into(v ? NULL : out, &q, nested + 1, err, errlen) < 0)
		return -1;
	if (*q != '}') {
		put_err(err, errlen, "unterminated '${' in '%s'", start);
		return -1;
	}
	if (v)
		buf_add(out, v, strlen(v));
	*end = q + 1;
	return 0;
}

/* A "${...}" at *pp: expanded into out, *pp left past it. 0, or -1 with err set. */
static int expand_reference(struct buf *out, const char **pp, int nested, char *err,
                            size_t errlen)
{
	const char *start = *pp; /* at "${" */
	const char *name = start + 2;
	size_t n = 0;
	while (is_name_char(name[n]))
		n++;
	const char *after = name + n;
	if (n == 0 || !is_name_start(name[0]))
		return bad_name_error(start, n, err, errlen);
	if (*after == '}') {
		if (expand_variable(out, start, name, n, err, errlen) < 0)
			return -1;
		*pp = after + 1;
		return 0;
	}
	if (after[0] == ':' && after[1] == '-')
		return expand_with_default(out, start, name, n, nested, pp, err, errlen);
	return unknown_expansion_error(start, after, err, errlen);
}

/*
 * Expands *pp into out (when out is NULL, as for a default that is not used,
 * the text is only parsed, to find its end and its syntax errors; its
 * variables are not looked up).  In a default (nested > 0) it stops at the
 * '}' that closes it and leaves *pp there.  Returns 0, or -1 with a message
 * in err.
 */
static int expand_into(struct buf *out, const char **pp, int nested, char *err, size_t errlen)
{
	const char *p = *pp;
	if (nested > MAX_NESTING) {
		put_err(err, errlen, "defaults nested more than %d deep", MAX_NESTING);
		return -1;
	}
	while (*p) {
		if (nested && *p == '}')
			break;
		if (*p != '$') {
			size_t n = strcspn(p, nested ? "$}" : "$");
			if (out)
				buf_add(out, p, n);
			p += n;
		} else if (p[1] == '$') { /* "$$": one literal '$' */
			if (out)
				buf_add(out, "$", 1);
			p += 2;
		} else if (p[1] != '{') { /* a lone '$' is literal */
			if (out)
				buf_add(out, "$", 1);
			p++;
		} else if (expand_reference(out, &p, nested, err, errlen) < 0) {
			return -1;
		}
	}
	*pp = p;
	return 0;
}

char *config_expand(const char *text, char *err, size_t errlen)
{
	struct buf out = { 0 };
	const char *p = text ? text : "";
	buf_add(&out, "", 0);
	if (expand_into(&out, &p, 0, err, errlen) < 0) {
		free(out.s);
		return NULL;
	}
	if (out.oom) {
		free(out.s);
		put_err(err, errlen, "out of memory");
		return NULL;
	}
	return out.s;
}

/* ---- the parse ---------------------------------------------------------- */

/* A key seen in a section, to refuse it the second time. */
struct seen_key {
	long section; /* index in cfg->sections; -1 for [ddbsim] */
	const char *key;
	int line;
};

struct parse {
	struct config *cfg;
	FILE *f;
	char *line; /* from getline */
	size_t line_cap;
	int lineno;     /* of the line last handed to inih */
	int eof;
	long section;   /* -2: none yet; -1: [ddbsim]; else index in cfg->sections */
	int ddbsim_line; /* where [ddbsim] started, or 0 */
	struct seen_key *seen;
	size_t n_seen, cap_seen;
	int err_line;    /* the line of our first error (0: none) */
	int io_error;    /* that error is a read error: no line in the message */
	char msg[512];   /* its message, without "FILE:LINE: " */
};

PRINTF_LIKE(2, 3)
static void parse_fail(struct parse *ps, const char *fmt, ...)
{
	if (ps->err_line)
		return;
	ps->err_line = ps->lineno > 0 ? ps->lineno : 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->msg, sizeof ps->msg, fmt, ap);
	va_end(ap);
}

static const char *section_name(const struct parse *ps, long idx)
{
	return idx == -1 ? "ddbsim" : ps->cfg->sections[idx].name;
}

static int valid_region_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= DDB_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] == ' ' || name[i] == '\t' || name[i] == '[' || name[i] == ']')
			return 0;
	return 1;
}

/* A [section] line (s points at the '['; s itself is left as it is). */
static void begin_section(struct parse *ps, const char *s)
{
	const char *close = strchr(s, ']');
	if (!close)
		return; /* inih reports it as a syntax error */
	const char *rest = close + 1;
	rest += strspn(rest, " \t");
	if (*rest && *rest != ';' && *rest != '#') {
		parse_fail(ps, "unexpected text after ']': '%s'", rest);
		return;
	}
	const char *from = s + 1;
	from += strspn(from, " \t");
	const char *to = close;
	while (to > from && (to[-1] == ' ' || to[-1] == '\t'))
		to--;
	char *name = strndup(from, (size_t)(to - from));
	if (!name) {
		parse_fail(ps, "out of memory");
		return;
	}

	int known = strcmp(name, "ddbsim") == 0 || strcmp(name, "transport") == 0 ||
	            strcmp(name, "regions") == 0 || strcmp(name, "central") == 0 ||
	            strcmp(name, "documents") == 0;
	if (!known && strncmp(name, "region.", 7) == 0) {
		if (!valid_region_name(name + 7)) {
			parse_fail(ps, "bad region name in [%s]: 1 to %d characters, no blanks",
			           name, DDB_NAME_MAX - 1);
			goto out;
		}
		known = 1;
	}
	if (!known) {
		parse_fail(ps, "unknown section [%s] (known: ddbsim, transport, regions, "
		           "region.NAME, central, documents)", name);
		goto out;
	}
	if (strcmp(name, "ddbsim") == 0) {
		if (ps->ddbsim_line) {
			parse_fail(ps, "section [ddbsim] given twice (first on line %d)",
			           ps->ddbsim_line);
			goto out;
		}
		ps->ddbsim_line = ps->lineno;
		ps->section = -1;
		goto out;
	}
	struct config *cfg = ps->cfg;
	for (size_t i = 0; i < cfg->n_sections; i++) {
		if (strcmp(cfg->sections[i].name, name) == 0) {
			parse_fail(ps, "section [%s] given twice (first on line %d)", name,
			           cfg->sections[i].line);
			goto out;
		}
	}
	struct config_section *grown =
		realloc(cfg->sections, (cfg->n_sections + 1) * sizeof *cfg->sections);
	if (!grown) {
		parse_fail(ps, "out of memory");
		goto out;
	}
	cfg->sections = grown;
	struct config_section *sec = &cfg->sections[cfg->n_sections];
	memset(sec, 0, sizeof *sec);
	sec->name = name;
	name = NULL;
	sec->line = ps->lineno;
	ps->section = (long)cfg->n_sections++;
out:
	free(name);
}

/* The ini_reader: the next line of the file, without its end of line and
 * its leading white space (and, on line 1, a UTF-8 byte order mark). */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	if (ps->err_line || ps->eof)
		return NULL;
	errno = 0;
	ssize_t n = getline(&ps->line, &ps->line_cap, ps->f);
	if (n < 0) {
		ps->eof = 1;
		if (ferror(ps->f)) {
			parse_fail(ps, "cannot read: %s", strerror(errno ? errno : EIO));
			ps->io_error = 1;
		}
		return NULL;
	}
	ps->lineno++;
	size_t len = (size_t)n;
	if (memchr(ps->line, '\0', len)) {
		parse_fail(ps, "the line holds a NUL byte: not a text file?");
		return NULL;
	}
	while (len > 0 && (ps->line[len - 1] == '\n' || ps->line[len - 1] == '\r'))
		ps->line[--len] = '\0';
	char *s = ps->line;
	if (ps->lineno == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	s += strspn(s, " \t\f\v\r\n"); /* everything inih's isspace() skips */
	len = strlen(s);
	if (num <= 1 || len > (size_t)num - 1) {
		parse_fail(ps, "line longer than %d characters", num > 1 ? num - 1 : 0);
		return NULL;
	}
	if (*s == '[') {
		begin_section(ps, s);
		if (ps->err_line)
			return NULL;
	}
	memcpy(str, s, len + 1);
	return str;
}

#ifndef HAVE_DECL_INI_MAX_LINE
#define HAVE_DECL_INI_MAX_LINE 0
#endif

static int seen_before(struct parse *ps, const char *key, int *first_line)
{
	for (size_t i = 0; i < ps->n_seen; i++) {
		if (ps->seen[i].section == ps->section && strcmp(ps->seen[i].key, key) == 0) {
			*first_line = ps->seen[i].line;
			return 1;
		}
	}
	return 0;
}

/* key must live as long as the parse (a literal or a string of cfg). */
static int remember(struct parse *ps, const char *key)
{
	if (ps->n_seen == ps->cap_seen) {
		size_t cap = ps->cap_seen ? ps->cap_seen * 2 : 16;
		struct seen_key *grown = realloc(ps->seen, cap * sizeof *grown);
		if (!grown)
			return -1;
		ps->seen = grown;
		ps->cap_seen = cap;
	}
	ps->seen[ps->n_seen++] = (struct seen_key){ ps->section, key, ps->lineno };
	return 0;
}

/* "seed": a non-negative decimal integer below 2^64. */
static int parse_seed(const char *s, unsigned long long *out)
{
	if (!*s)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int handle_ddbsim(struct parse *ps, const char *key, char *value)
{
	static const char *const keys[] = { "plugin_dir",    "data_dir",
		                            "scenario",      "seed",
		                            "lua_memory_mb", "lua_instruction_limit",
		                            "lua_time_limit_ms" };
	static const struct {
		const char *key;
		unsigned long long min, max;
	} limits[] = {
		{ "lua_memory_mb", CONFIG_LUA_MEMORY_MB_MIN, CONFIG_LUA_MEMORY_MB_MAX },
		{ "lua_instruction_limit", CONFIG_LUA_INSTRUCTIONS_MIN, CONFIG_LUA_INSTRUCTIONS_MAX },
		{ "lua_time_limit_ms", CONFIG_LUA_TIME_MS_MIN, CONFIG_LUA_TIME_MS_MAX },
	};
	const char *known = NULL;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i], key) == 0)
			known = keys[i];
	if (!known) {
		parse_fail(ps, "unknown key '%s' in [ddbsim]", key);
		return -1;
	}
	int first;
	if (seen_before(ps, known, &first)) {
		parse_fail(ps, "key '%s' given twice in [ddbsim] (first on line %d)", key, first);
		return -1;
	}
	if (remember(ps, known) < 0) {
		parse_fail(ps, "out of memory");
		return -1;
	}
	struct config *cfg = ps->cfg;
	if (strcmp(known, "seed") == 0) {
		if (!*value)
			return 0; /* empty: as if absent */
		int rc = parse_seed(value, &cfg->seed);
		if (rc == -1) {
			parse_fail(ps, "seed must be a non-negative decimal integer, not '%s'", value);
			return -1;
		}
		if (rc == -2) {
			parse_fail(ps, "seed '%s' does not fit in 64 bits (at most 18446744073709551615)",
			           value);
			return -1;
		}
		cfg->has_seed = 1;
		return 0;
	}
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		if (strcmp(known, limits[i].key) != 0)
			continue;
		if (!*value)
			return 0; /* empty: as if absent */
		unsigned long long v = 0;
		if (parse_seed(value, &v) != 0 || v < limits[i].min || v > limits[i].max) {
			parse_fail(ps, "%s must be a decimal integer from %llu to %llu (digits only), not "
			           "'%s'", known, limits[i].min, limits[i].max, value);
			return -1;
		}
		unsigned long long *field = i == 0 ? &cfg->lua_memory_mb
		                            : i == 1 ? &cfg->lua_instruction_limit
		                                     : &cfg->lua_time_limit_ms;
		*field = v;
		return 0;
	}
	char **field = strcmp(known, "plugin_dir") == 0 ? &cfg->plugin_dir
	               : strcmp(known, "data_dir") == 0 ? &cfg->data_dir
	                                                : &cfg->scenario;
	if (!*value)
		return 0; /* empty: as if absent, the default applies */
	if (!(*field = strdup(value))) {
		parse_fail(ps, "out of memory");
		return -1;
	}
	return 0;
}

static int handle_plugin_section(struct parse *ps, const char *key, char *value)
{
	struct config_section *sec = &ps->cfg->sections[ps->section];
	int first;
	if (seen_before(ps, key, &first)) {
		parse_fail(ps, "key '%s' given twice in [%s] (first on line %d)", key, sec->name,
		           first);
		return -1;
	}
	if (strcmp(key, "plugin") == 0) {
		if (!*value) {
			parse_fail(ps, "empty plugin name in [%s]", sec->name);
			return -1;
		}
		if (!(sec->plugin = strdup(value)) || remember(ps, "plugin") < 0) {
			parse_fail(ps, "out of memory");
			return -1;
		}
		return 0;
	}
	struct ddb_option *grown = realloc(sec->options, (sec->n_options + 1) * sizeof *grown);
	if (grown)
		sec->options = grown;
	int *lines = grown ? realloc(sec->option_lines, (sec->n_options + 1) * sizeof *lines) : NULL;
	if (!lines) {
		parse_fail(ps, "out of memory");
		return -1;
	}
	sec->option_lines = lines;
	lines[sec->n_options] = ps->lineno;
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		parse_fail(ps, "out of memory");
		return -1;
	}
	sec->options[sec->n_options++] = (struct ddb_option){ k, v };
	if (remember(ps, k) < 0) {
		parse_fail(ps, "out of memory");
		return -1;
	}
	return 0;
}

/* The ini_handler: one key = value of the line the reader returned last. */
static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	(void)section; /* ours, read by begin_section(), with blanks trimmed */
	if (ps->err_line)
		return 0;
	if (ps->section == -2) {
		parse_fail(ps, "key '%s' before any [section]", name);
		return 0;
	}
	if (!*name) {
		parse_fail(ps, "empty key in [%s]", section_name(ps, ps->section));
		return 0;
	}
	char msg[400];
	char *expanded = config_expand(value ? value : "", msg, sizeof msg);
	if (!expanded) {
		parse_fail(ps, "%s", msg);
		return 0;
	}
	int rc = ps->section == -1 ? handle_ddbsim(ps, name, expanded)
	                           : handle_plugin_section(ps, name, expanded);
	free(expanded);
	return rc == 0;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	if (!path) {
		put_err(err, errlen, "no config file given");
		return NULL;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		put_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct config *cfg = calloc(1, sizeof *cfg);
	if (!cfg || !(cfg->path = strdup(path))) {
		free(cfg);
		fclose(f);
		put_err(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	struct parse ps = { .cfg = cfg, .f = f, .section = -2 };
#if HAVE_DECL_INI_MAX_LINE
	/* Debian's libinih lets the line buffer be set at run time: room for
	 * long connection strings and plugin paths. */
	ini_use_stack = false;
	ini_allow_realloc = false; /* our reader hands over whole lines */
	ini_max_line = CONFIG_LINE_MAX;
	ini_initial_alloc = CONFIG_LINE_MAX;
#endif
	int rc = ini_parse_stream(read_line, &ps, handle_key, &ps);
	fclose(f);
	free(ps.line);
	free(ps.seen);
	if (rc != 0 && (ps.err_line == 0 || rc < ps.err_line)) {
		if (rc > 0)
			put_err(err, errlen, "%s:%d: syntax error: expected [section], key = value or a comment",
			        path, rc);
		else
			put_err(err, errlen, "%s: cannot parse (inih error %d)", path, rc);
		config_free(cfg);
		return NULL;
	}
	if (ps.err_line) {
		if (ps.io_error)
			put_err(err, errlen, "%s: %s", path, ps.msg);
		else
			put_err(err, errlen, "%s:%d: %s", path, ps.err_line, ps.msg);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_sections; i++) {
		struct config_section *s = &cfg->sections[i];
		for (size_t j = 0; j < s->n_options; j++) {
			free((char *)s->options[j].key);
			free((char *)s->options[j].value);
		}
		free(s->options);
		free(s->option_lines);
		free(s->plugin);
		free(s->name);
	}
	free(cfg->sections);
	free(cfg->path);
	free(cfg->plugin_dir);
	free(cfg->data_dir);
	free(cfg->scenario);
	free(cfg);
}

const struct config_section *config_section(const struct config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	return NULL;
}

const struct config_section *config_storage_section(const struct config *cfg, const char *node,
                                                    int is_region)
{
	if (!cfg || !node)
		return NULL;
	if (!is_region)
		return config_section(cfg, node);
	size_t len = strlen("region.") + strlen(node) + 1;
	char stackbuf[DDB_NAME_MAX + 8];
	char *name = len <= sizeof stackbuf ? stackbuf : malloc(len);
	if (!name)
		return NULL;
	snprintf(name, len, "region.%s", node);
	const struct config_section *s = config_section(cfg, name);
	if (name != stackbuf)
		free(name);
	return s ? s : config_section(cfg, "regions");
}
