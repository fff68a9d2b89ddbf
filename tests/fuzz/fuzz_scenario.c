/*
 * fuzz_scenario.c - the scenario validator (src/scenario.c) on a table
 * built from any bytes.
 *
 * The input is never run as Lua.  It is read as a forgiving notation for a
 * table made of literals only, and the harness writes that table as a Lua
 * script "return { ... }" of its own making, which scenario_load() runs and
 * validates as it does any scenario.  The notation:
 *   { ... }                 a table; fields separated by ',' or ';' (or
 *                           nothing); NAME = value and [value] = value are
 *                           keyed fields, a bare value is the next in the
 *                           list
 *   "..." or '...'          a string, with \n \t \\ \" \' \ddd and \xXX
 *   123, -1.5e3, 0x1F       numbers (integers stay integers); inf, -inf, nan
 *   true, false, nil
 *   fn                      a function (function() end): the validator
 *                           only keeps hooks, it does not call them
 *   NAME                    anywhere else: the string "NAME"
 * Any other byte is skipped, and tables nest at most MAX_DEPTH deep (deeper
 * ones are written as {}).  The seeds of tests/fuzz/corpus/scenario/ are
 * real scenarios in this notation (tests/fuzz/make_corpus.sh writes them),
 * and scenario.dict holds the field names the validator knows, so that
 * most keys are real ones and inputs go deep into the validation.
 *
 * Besides the sanitizers, the harness checks that a refusal names the
 * script, and that an accepted scenario holds what validation promises.
 */
#include "prng.h"
#include "scenario.h"
#include "fuzz.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 12
/* A bound on the script, whatever the input (a \ddd is 4 bytes a byte). */
#define OUT_MAX (1 << 20)

struct in {
	const unsigned char *p, *end;
};

struct out {
	char *s;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *grown = realloc(o->s, cap);
		if (!grown)
			fuzz_fail("out of memory");
		o->s = grown;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void putf(struct out *o, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	put(o, buf, n > 0 ? (size_t)n : 0);
}

/* ---- tokens --------------------------------------------------------------- */

enum tok { T_END, T_OPEN, T_CLOSE, T_LBRACKET, T_RBRACKET, T_EQUALS, T_SEP, T_STRING, T_NUMBER,
	   T_NAME };

struct token {
	enum tok kind;
	const unsigned char *text; /* T_STRING: inside the quotes; T_NUMBER, T_NAME: the word */
	size_t len;
};

static int is_name_char(int c)
{
	return isalnum(c) || c == '_';
}

static int is_number_char(int c)
{
	return isalnum(c) || c == '.' || c == '+' || c == '-';
}

static struct token next_token(struct in *in)
{
	for (;;) {
		if (in->p >= in->end)
			return (struct token){ T_END, NULL, 0 };
		int c = *in->p;
		const unsigned char *at = in->p;
		switch (c) {
		case '{': in->p++; return (struct token){ T_OPEN, at, 1 };
		case '}': in->p++; return (struct token){ T_CLOSE, at, 1 };
		case '[': in->p++; return (struct token){ T_LBRACKET, at, 1 };
		case ']': in->p++; return (struct token){ T_RBRACKET, at, 1 };
		case '=': in->p++; return (struct token){ T_EQUALS, at, 1 };
		case ',': case ';': in->p++; return (struct token){ T_SEP, at, 1 };
		case '"': case '\'': {
			const unsigned char *s = ++in->p;
			while (in->p < in->end && *in->p != c) {
				if (*in->p == '\\' && in->p + 1 < in->end)
					in->p++;
				in->p++;
			}
			struct token t = { T_STRING, s, (size_t)(in->p - s) };
			if (in->p < in->end)
				in->p++; /* the closing quote */
			return t;
		}
		default:
			break;
		}
		if (isdigit(c) || ((c == '-' || c == '.') && in->p + 1 < in->end &&
		                   (isdigit(in->p[1]) || in->p[1] == '.' || in->p[1] == 'i'))) {
			in->p++;
			while (in->p < in->end && is_number_char(*in->p) &&
			       !(( *in->p == '-' || *in->p == '+') && !(in->p[-1] == 'e' || in->p[-1] == 'E')))
				in->p++;
			return (struct token){ T_NUMBER, at, (size_t)(in->p - at) };
		}
		if (isalpha(c) || c == '_') {
			while (in->p < in->end && is_name_char(*in->p))
				in->p++;
			return (struct token){ T_NAME, at, (size_t)(in->p - at) };
		}
		in->p++; /* anything else is skipped */
	}
}

static int word_is(const struct token *t, const char *w)
{
	return t->len == strlen(w) && memcmp(t->text, w, t->len) == 0;
}

/* ---- writing literals ----------------------------------------------------- */

static void put_string_bytes(struct out *o, const unsigned char *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			put(o, (const char *)&c, 1);
		else
			putf(o, "\\%03u", c);
	}
	put(o, "\"", 1);
}

/* The bytes of a quoted string, its escapes decoded. */
static void put_string(struct out *o, const struct token *t)
{
	unsigned char *buf = malloc(t->len + 1);
	if (!buf)
		fuzz_fail("out of memory");
	size_t n = 0;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = t->text[i];
		if (c != '\\' || i + 1 >= t->len) {
			buf[n++] = c;
			continue;
		}
		c = t->text[++i];
		switch (c) {
		case 'n': buf[n++] = '\n'; break;
		case 't': buf[n++] = '\t'; break;
		case 'r': buf[n++] = '\r'; break;
		case 'x': {
			unsigned v = 0, k = 0;
			while (k < 2 && i + 1 < t->len && isxdigit(t->text[i + 1])) {
				char h = (char)t->text[++i];
				v = v * 16 + (unsigned)(isdigit(h) ? h - '0' : tolower(h) - 'a' + 10);
				k++;
			}
			buf[n++] = (unsigned char)v;
			break;
		}
		default:
			if (isdigit(c)) {
				unsigned v = (unsigned)(c - '0'), k = 1;
				while (k < 3 && i + 1 < t->len && isdigit(t->text[i + 1])) {
					v = v * 10 + (unsigned)(t->text[++i] - '0');
					k++;
				}
				buf[n++] = (unsigned char)v;
			} else {
				buf[n++] = c; /* \\ \" \' and anything else: the byte */
			}
		}
	}
	put_string_bytes(o, buf, n);
	free(buf);
}

static void put_double(struct out *o, double x)
{
	if (isnan(x)) {
		put(o, "(0/0)", 5);
	} else if (isinf(x)) {
		putf(o, "(%s1/0)", x < 0 ? "-" : "");
	} else {
		char buf[64];
		snprintf(buf, sizeof buf, "%.17g", x);
		if (!strpbrk(buf, ".e"))
			strcat(buf, ".0"); /* stays a float */
		putf(o, x < 0 ? "(%s)" : "%s", buf);
	}
}

static void put_integer(struct out *o, int64_t v)
{
	if (v == INT64_MIN)
		put(o, "(-9223372036854775807 - 1)", 26);
	else
		putf(o, v < 0 ? "(%" PRId64 ")" : "%" PRId64, v);
}

static void put_number(struct out *o, const struct token *t)
{
	char buf[72];
	size_t n = t->len < sizeof buf - 1 ? t->len : sizeof buf - 1;
	memcpy(buf, t->text, n);
	buf[n] = '\0';
	const char *s = buf;
	int neg = *s == '-';
	if (neg || *s == '+')
		s++;
	if (strcmp(s, "inf") == 0) {
		put_double(o, neg ? -INFINITY : INFINITY);
		return;
	}
	if (strcmp(s, "nan") == 0) {
		put_double(o, NAN);
		return;
	}
	char *end;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		/* hexadecimal integers wrap around, as in Lua */
		uint64_t u = strtoull(s + 2, &end, 16);
		put_integer(o, (int64_t)(neg ? 0 - u : u));
		return;
	}
	if (!strpbrk(s, ".eEnN")) {
		errno = 0;
		long long v = strtoll(buf, &end, 10);
		if (errno == 0 && end != buf) {
			put_integer(o, (int64_t)v);
			return;
		}
	}
	double x = strtod(buf, &end);
	put_double(o, end == buf ? 0.0 : x);
}

/* ---- the table ------------------------------------------------------------ */

struct parser {
	struct in in;
	struct token tok; /* the current token */
	struct out out;
};

static void advance(struct parser *ps)
{
	ps->tok = next_token(&ps->in);
}

/* Skips a table whose '{' was read, to its '}'. */
static void skip_table(struct parser *ps)
{
	int depth = 1;
	while (depth > 0 && ps->tok.kind != T_END) {
		if (ps->tok.kind == T_OPEN)
			depth++;
		else if (ps->tok.kind == T_CLOSE)
			depth--;
		advance(ps);
	}
}

static void value(struct parser *ps, int depth);

static void table(struct parser *ps, int depth)
{
	advance(ps); /* the '{' */
	if (depth >= MAX_DEPTH) {
		skip_table(ps);
		put(&ps->out, "{}", 2);
		return;
	}
	put(&ps->out, "{", 1);
	while (ps->tok.kind != T_CLOSE && ps->tok.kind != T_END && ps->out.len < OUT_MAX) {
		if (ps->tok.kind == T_SEP || ps->tok.kind == T_EQUALS || ps->tok.kind == T_RBRACKET) {
			advance(ps); /* stray */
			continue;
		}
		if (ps->tok.kind == T_LBRACKET) {
			advance(ps);
			put(&ps->out, "[", 1);
			value(ps, depth + 1);
			put(&ps->out, "]=", 2);
			if (ps->tok.kind == T_RBRACKET)
				advance(ps);
			if (ps->tok.kind == T_EQUALS)
				advance(ps);
			value(ps, depth + 1);
		} else if (ps->tok.kind == T_NAME) {
			struct token name = ps->tok;
			struct in saved = ps->in;
			struct token after = next_token(&saved);
			if (after.kind == T_EQUALS) {
				put(&ps->out, "[", 1);
				put_string_bytes(&ps->out, name.text, name.len);
				put(&ps->out, "]=", 2);
				ps->in = saved;
				advance(ps);
				value(ps, depth + 1);
			} else {
				value(ps, depth + 1);
			}
		} else {
			value(ps, depth + 1);
		}
		put(&ps->out, ",", 1);
	}
	if (ps->tok.kind == T_CLOSE)
		advance(ps);
	put(&ps->out, "}", 1);
}

static void value(struct parser *ps, int depth)
{
	struct token t = ps->tok;
	switch (t.kind) {
	case T_OPEN:
		table(ps, depth);
		return;
	case T_STRING:
		put_string(&ps->out, &t);
		break;
	case T_NUMBER:
		put_number(&ps->out, &t);
		break;
	case T_NAME:
		if (word_is(&t, "true") || word_is(&t, "false") || word_is(&t, "nil"))
			put(&ps->out, (const char *)t.text, t.len);
		else if (word_is(&t, "fn"))
			put(&ps->out, "function() end", 14);
		else
			put_string_bytes(&ps->out, t.text, t.len);
		break;
	default:
		/* a value is missing here: nil stands in, and the token is left
		 * for the table to deal with */
		put(&ps->out, "nil", 3);
		return;
	}
	advance(ps);
}

/* The script for the input: "return VALUE\n". */
static char *script_of(const uint8_t *data, size_t size)
{
	struct parser ps = { { data, data + size }, { T_END, NULL, 0 }, { NULL, 0, 0 } };
	put(&ps.out, "return ", 7);
	advance(&ps);
	value(&ps, 0);
	put(&ps.out, "\n", 1);
	return ps.out.s;
}

/* ---- the harness ------------------------------------------------------------ */

static void check_accepted(const struct scenario_info *info)
{
	if (info->n_regions == 0 || info->n_products == 0)
		fuzz_fail("accepted with %zu regions and %zu products", info->n_regions,
		          info->n_products);
	if (info->duration_us <= 0)
		fuzz_fail("accepted with a duration of %lld us", (long long)info->duration_us);
	for (size_t i = 0; i < info->n_products; i++)
		if (info->products[i].price_cents < 0)
			fuzz_fail("accepted a negative price");
	for (size_t i = 0; i < info->n_regions * info->n_products; i++)
		if (info->stock[i] < 0)
			fuzz_fail("accepted a negative stock");
	for (size_t i = 1; i < info->n_failures; i++)
		if (info->failures[i].at_us < info->failures[i - 1].at_us)
			fuzz_fail("failure steps out of order");
	for (size_t i = 1; i < info->n_restocks; i++)
		if (info->restocks[i].at_us < info->restocks[i - 1].at_us)
			fuzz_fail("restocks out of order");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[4200];
	if (!path[0])
		snprintf(path, sizeof path, "%s/fuzzed.lua", fuzz_scratch_dir());
	char *script = script_of(data, size);
	fuzz_write_file(path, script, strlen(script));
	int show = getenv("DDBSIM_FUZZ_SHOW") != NULL;
	if (show)
		fprintf(stderr, "%s", script);
	free(script);

	struct prng rng;
	prng_seed(&rng, 1);
	char err[2048] = "";
	struct scenario *sc = scenario_load(path, NULL, &rng, err, sizeof err);
	if (show)
		fprintf(stderr, "-> %s%s\n", sc ? "accepted" : "refused: ", sc ? "" : err);
	if (!sc) {
		if (strncmp(err, path, strlen(path)) != 0)
			fuzz_fail("scenario_load refused the script without naming it: '%s'", err);
		return 0;
	}
	check_accepted(scenario_info(sc));
	scenario_free(sc);
	return 0;
}
