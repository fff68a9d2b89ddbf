/*
 * scenario_seed.c - writes the table a scenario script returns in the
 * notation of fuzz_scenario.c, for the seeds of tests/fuzz/corpus/scenario/
 * (tests/fuzz/make_corpus.sh builds and runs it).
 *
 *   scenario_seed SCRIPT LUA_DIR > SEED
 *
 * The script runs in a plain Lua state whose require finds LUA_DIR/?.lua
 * (shop.lua) and the script's own directory; ddbsim.param(name, default)
 * gives the default, ddbsim.log does nothing, ddbsim.node_state says "up",
 * and math.random is seeded with 1.  Lists are written as lists,
 * other keys in sorted order, functions as fn.  This is a developer's tool:
 * it trusts the script.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int l_param(lua_State *L)
{
	lua_settop(L, 2);
	return 1; /* the default */
}

static int l_nothing(lua_State *L)
{
	(void)L;
	return 0;
}

static int l_up(lua_State *L)
{
	lua_pushliteral(L, "up");
	return 1;
}

static void write_string(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			putchar(c);
		else
			printf("\\%03u", c);
	}
	putchar('"');
}

static int is_name(const char *s, size_t n)
{
	if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	/* words of the notation are not keys there */
	return strcmp(s, "true") != 0 && strcmp(s, "false") != 0 && strcmp(s, "nil") != 0 &&
	       strcmp(s, "fn") != 0 && strcmp(s, "inf") != 0 && strcmp(s, "nan") != 0;
}

/* The shortest decimal that reads back as x. */
static void write_double(double x)
{
	char buf[64];
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, sizeof buf, "%.*g", digits, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0"); /* stays a float */
	fputs(buf, stdout);
}

static void write_value(lua_State *L, int idx, int depth, int indent);

static int key_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void newline(int indent)
{
	putchar('\n');
	for (int i = 0; i < indent; i++)
		fputs("  ", stdout);
}

static void write_table(lua_State *L, int t, int depth, int indent)
{
	if (depth > 20) {
		fputs("{}", stdout);
		return;
	}
	size_t n = (size_t)lua_rawlen(L, t);
	fputs("{", stdout);
	for (size_t i = 1; i <= n; i++) {
		newline(indent + 1);
		lua_rawgeti(L, t, (lua_Integer)i);
		write_value(L, lua_gettop(L), depth + 1, indent + 1);
		lua_pop(L, 1);
		putchar(',');
	}
	/* the other keys: strings, sorted */
	char **keys = NULL;
	size_t nk = 0;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1) &&
		    lua_tointeger(L, -1) >= 1 && (size_t)lua_tointeger(L, -1) <= n)
			continue;
		if (lua_type(L, -1) != LUA_TSTRING)
			continue; /* scenarios key by strings */
		keys = realloc(keys, (nk + 1) * sizeof *keys);
		keys[nk++] = strdup(lua_tostring(L, -1));
	}
	qsort(keys, nk, sizeof *keys, key_order);
	for (size_t i = 0; i < nk; i++) {
		newline(indent + 1);
		size_t len = strlen(keys[i]);
		if (is_name(keys[i], len)) {
			fputs(keys[i], stdout);
		} else {
			putchar('[');
			write_string(keys[i], len);
			putchar(']');
		}
		fputs(" = ", stdout);
		lua_pushstring(L, keys[i]);
		lua_rawget(L, t);
		write_value(L, lua_gettop(L), depth + 1, indent + 1);
		lua_pop(L, 1);
		putchar(',');
		free(keys[i]);
	}
	free(keys);
	if (n + nk)
		newline(indent);
	putchar('}');
}

static void write_value(lua_State *L, int idx, int depth, int indent)
{
	switch (lua_type(L, idx)) {
	case LUA_TTABLE:
		write_table(L, idx, depth, indent);
		break;
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		write_string(s, n);
		break;
	}
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			printf("%lld", (long long)lua_tointeger(L, idx));
		} else {
			double x = lua_tonumber(L, idx);
			if (isnan(x))
				fputs("nan", stdout);
			else if (isinf(x))
				fputs(x < 0 ? "-inf" : "inf", stdout);
			else
				write_double(x);
		}
		break;
	case LUA_TBOOLEAN:
		fputs(lua_toboolean(L, idx) ? "true" : "false", stdout);
		break;
	case LUA_TFUNCTION:
		fputs("fn", stdout);
		break;
	default:
		fputs("nil", stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: scenario_seed SCRIPT LUA_DIR\n");
		return 2;
	}
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	/* The same seed every time, for scripts that draw at their top level. */
	luaL_dostring(L, "math.randomseed(1)");
	const char *slash = strrchr(argv[1], '/');
	lua_getglobal(L, "package");
	const char *dir = lua_pushlstring(L, slash ? argv[1] : ".", slash ? (size_t)(slash - argv[1]) : 1);
	lua_pushfstring(L, "%s/?.lua;%s/?.lua", argv[2], dir);
	lua_setfield(L, -3, "path");
	lua_settop(L, 0);
	lua_newtable(L);
	lua_pushcfunction(L, l_param);
	lua_setfield(L, -2, "param");
	lua_pushcfunction(L, l_nothing);
	lua_setfield(L, -2, "log");
	lua_pushcfunction(L, l_up);
	lua_setfield(L, -2, "node_state");
	lua_setglobal(L, "ddbsim");
	if (luaL_dofile(L, argv[1]) != LUA_OK || !lua_istable(L, -1)) {
		fprintf(stderr, "scenario_seed: %s: %s\n", argv[1],
		        lua_isstring(L, -1) ? lua_tostring(L, -1) : "did not return a table");
		return 1;
	}
	write_value(L, lua_gettop(L), 0, 0);
	putchar('\n');
	lua_close(L);
	return 0;
}
