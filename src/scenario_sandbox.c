/*
 * scenario_sandbox.c - the restricted Lua state a scenario runs in: the
 * base, coroutine, table, string, math and utf8 libraries without file
 * access or binary chunks; print and ddbsim.log to stderr; math.random from
 * the run's PRNG; require of Lua modules from the script's directory and
 * the package directory only; setmetatable without __gc; string.rep and
 * table.move that a limit can stop (scenario_limits.c); and the ddbsim
 * table (now, log, version, script, param, node_state).
 */
#include "scenario_int.h"
#include "prng.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the sandbox ---------------------------------------------------------- */

/* print and ddbsim.log: to stderr, "[lua] " and the arguments separated by
 * tabs. */
static int l_log(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	luaL_addstring(&b, "[lua] ");
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_addchar(&b, '\n');
	luaL_pushresult(&b);
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	fwrite(s, 1, len, stderr);
	fflush(stderr);
	return 0;
}

static int l_now(lua_State *L)
{
	const struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	lua_pushnumber(L, (lua_Number)now_s(sc));
	return 1;
}

/* math.random with Lua 5.4's argument rules, drawing from the run's PRNG. */
static int l_random(lua_State *L)
{
	struct prng *rng = lua_touserdata(L, lua_upvalueindex(1));
	lua_Integer lo, hi;
	switch (lua_gettop(L)) {
	case 0:
		lua_pushnumber(L, (lua_Number)prng_double(rng));
		return 1;
	case 1:
		lo = 1;
		hi = luaL_checkinteger(L, 1);
		if (hi == 0) { /* math.random(0): a whole random integer */
			lua_pushinteger(L, (lua_Integer)prng_next(rng));
			return 1;
		}
		break;
	case 2:
		lo = luaL_checkinteger(L, 1);
		hi = luaL_checkinteger(L, 2);
		break;
	default:
		return luaL_error(L, "wrong number of arguments");
	}
	luaL_argcheck(L, lo <= hi, 1, "interval is empty");
	lua_pushinteger(L, (lua_Integer)prng_range(rng, (int64_t)lo, (int64_t)hi));
	return 1;
}

static int l_randomseed(lua_State *L)
{
	return luaL_error(L, "math.randomseed is not available: the run's PRNG is seeded once "
	                     "for everything (use --seed)");
}

/* setmetatable as in the base library, but a metatable with __gc is
 * refused: Lua runs a finalizer with hooks off, at a time the garbage
 * collector chooses (or at lua_close), where no limit could stop it.  The
 * attempt is treated as going past a limit: it stops the run. */
static int l_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		int has_gc = lua_rawget(L, 2) != LUA_TNIL;
		lua_pop(L, 1);
		if (has_gc) {
			static const char why[] = "setmetatable: __gc is not available in a scenario "
			                          "(a finalizer runs when the garbage collector "
			                          "chooses, where no limit could stop it)";
			struct scenario *sc = scenario_of(L);
			if (!sc->armed)
				return luaL_error(L, "%s", why);
			if (!sc->has_fatal) {
				lua_Debug ar;
				const char *src;
				int line;
				scn_caller_position(L, &ar, &src, &line);
				scn_set_fatal(sc, src, line, why);
			}
			scn_raise_fatal(sc, L);
		}
	}
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

/* string.rep, but an empty result is made at once: Lua 5.4 copies the
 * empty string n times (string.rep("", 1e15) runs for days in C, where no
 * hook can stop it). */
static int l_string_rep(lua_State *L)
{
	size_t l, lsep;
	luaL_checklstring(L, 1, &l);
	lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (n <= 0 || l + lsep == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* Whether the value at arg can be read (or written) by index: a table, or
 * a value whose metatable has __index (and __newindex). */
static void check_indexable(lua_State *L, int arg, int write)
{
	if (lua_type(L, arg) == LUA_TTABLE)
		return;
	int ok = lua_getmetatable(L, arg);
	if (ok) {
		lua_pushliteral(L, "__index");
		ok = lua_rawget(L, -2) != LUA_TNIL;
		lua_pop(L, 1);
		if (ok && write) {
			lua_pushliteral(L, "__newindex");
			ok = lua_rawget(L, -2) != LUA_TNIL;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (!ok)
		luaL_checktype(L, arg, LUA_TTABLE); /* the usual error */
}

/* table.move as in Lua 5.4, but each element moved counts as an
 * instruction: table.move({}, 1, 1e15, 2) would loop in C for days. */
static int l_table_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2);
	lua_Integer e = luaL_checkinteger(L, 3);
	lua_Integer t = luaL_checkinteger(L, 4);
	int tt = !lua_isnoneornil(L, 5) ? 5 : 1; /* the destination */
	check_indexable(L, 1, 0);
	check_indexable(L, tt, 1);
	if (e >= f) {
		luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
		lua_Integer n = e - f + 1;
		luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
		int forward = t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ));
		for (lua_Integer k = 0; k < n; k++) {
			lua_Integer i = forward ? k : n - 1 - k;
			if (k % HOOK_EVERY == HOOK_EVERY - 1)
				scn_charge(L, HOOK_EVERY);
			lua_geti(L, 1, f + i);
			lua_seti(L, tt, t + i);
		}
	}
	lua_pushvalue(L, tt);
	return 1;
}

/* load, text chunks only. */
static int l_load(lua_State *L)
{
	luaL_checkany(L, 1);
	if (lua_gettop(L) < 3)
		lua_settop(L, 3); /* an absent env (argument 4) stays absent */
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int valid_module_name(const char *name, size_t len)
{
	/* ^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$ */
	if (len == 0 || len > 200)
		return 0;
	int prev_dot = 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
		} else if (isalnum(c) || c == '_') {
			prev_dot = 0;
		} else {
			return 0;
		}
	}
	return !prev_dot;
}

/* Raises "SCRIPT:LINE: message" with the position of the Lua code that
 * called require (level 0: the searcher, 1: require, 2...: the caller, or
 * pcall when require was called through it). */
static int raise_at_caller(lua_State *L, const char *fmt, ...)
{
	lua_Debug ar;
	lua_pushliteral(L, "");
	for (int level = 2; lua_getstack(L, level, &ar); level++) {
		if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
			lua_pop(L, 1);
			lua_pushfstring(L, "%s:%d: ", ar.source[0] == '@' ? ar.source + 1 : ar.short_src,
			                ar.currentline);
			break;
		}
	}
	va_list ap;
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 2);
	return lua_error(L);
}

/* ddbsim.param(name [, default]): the value of --param NAME=VALUE, as a
 * number when the default is a number, else as a string; the default when
 * it was not given. */
/* ddbsim.node_state(name): "up", "down" or "slow" as the engine sees it
 * now ("up" outside a run). */
static int l_node_state(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	const char *state = sc->node_state ? sc->node_state(sc->node_ctx, name) : "up";
	if (state == NULL)
		return luaL_error(L, "ddbsim.node_state: no node \"%s\"", name);
	lua_pushstring(L, state);
	return 1;
}

static int l_param(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	for (size_t i = 0; i < sc->n_params; i++) {
		if (strcmp(sc->params[i].key, name) != 0)
			continue;
		sc->param_read[i] = 1;
		const char *value = sc->params[i].value;
		if (lua_type(L, 2) == LUA_TNUMBER) {
			if (lua_stringtonumber(L, value) == 0)
				return luaL_error(L, "parameter %s: '%s' is not a number", name, value);
			return 1;
		}
		lua_pushstring(L, value);
		return 1;
	}
	lua_settop(L, 2);
	return 1;
}

/* The one searcher after package.preload: NAME.lua (dots are directories)
 * in the script's directory, then in pkg_dir.  Nothing else. */
static int l_searcher(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, lua_upvalueindex(1));
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);
	if (!valid_module_name(name, len) || memchr(name, '\0', len) != NULL)
		return raise_at_caller(L, "require: module name '%s' refused: a module name is "
		                          "letters, digits and '_', in parts separated by dots, at "
		                          "most 200 bytes", name);
	const char *dirs[2] = { sc->dir, sc->pkg_dir };
	int ndirs = (sc->pkg_dir != NULL && strcmp(sc->pkg_dir, sc->dir) != 0) ? 2 : 1;
	for (int d = 0; d < ndirs; d++) {
		size_t dl = strlen(dirs[d]);
		const char *sep = (dl > 0 && dirs[d][dl - 1] == '/') ? "" : "/";
		luaL_Buffer b;
		luaL_buffinit(L, &b);
		luaL_addstring(&b, dirs[d]);
		luaL_addstring(&b, sep);
		for (size_t i = 0; i < len; i++)
			luaL_addchar(&b, name[i] == '.' ? '/' : name[i]);
		luaL_addstring(&b, ".lua");
		luaL_pushresult(&b);
		const char *path = lua_tostring(L, -1);
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			lua_pop(L, 1);
			continue;
		}
		fclose(f);
		char **grown = realloc(sc->chunks, (sc->n_chunks + 1) * sizeof *grown);
		if (grown == NULL)
			return luaL_error(L, "not enough memory");
		sc->chunks = grown;
		if ((sc->chunks[sc->n_chunks] = strdup(path)) == NULL)
			return luaL_error(L, "not enough memory");
		sc->n_chunks++;
		if (luaL_loadfilex(L, path, "t") != LUA_OK)
			return lua_error(L); /* "PATH:LINE: message" */
		lua_insert(L, -2); /* loader, then its extra value: the path */
		return 2;
	}
	if (ndirs == 2)
		return raise_at_caller(L, "module '%s' not found in %s or %s", name, sc->dir,
		                       sc->pkg_dir);
	return raise_at_caller(L, "module '%s' not found in %s", name, sc->dir);
}

int scn_setup_sandbox(lua_State *L)
{
	struct scenario *sc = lua_touserdata(L, 1);
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },          { LUA_LOADLIBNAME, luaopen_package },
		{ LUA_COLIBNAME, luaopen_coroutine }, { LUA_TABLIBNAME, luaopen_table },
		{ LUA_STRLIBNAME, luaopen_string },   { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },    { NULL, NULL },
	};
	for (const luaL_Reg *lib = libs; lib->func != NULL; lib++) {
		luaL_requiref(L, lib->name, lib->func, 1);
		lua_pop(L, 1);
	}
	lua_pushglobaltable(L);
	int g = lua_gettop(L);

	/* base: no file access, text chunks only, print goes to the log */
	lua_pushnil(L);
	lua_setfield(L, g, "dofile");
	lua_pushnil(L);
	lua_setfield(L, g, "loadfile");
	lua_getfield(L, g, "load");
	lua_pushcclosure(L, l_load, 1);
	lua_setfield(L, g, "load");
	lua_pushcfunction(L, l_log);
	lua_setfield(L, g, "print");
	lua_pushcfunction(L, l_setmetatable);
	lua_setfield(L, g, "setmetatable");

	lua_getfield(L, g, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_getfield(L, -1, "rep");
	lua_pushcclosure(L, l_string_rep, 1);
	lua_setfield(L, -2, "rep");
	lua_pop(L, 1);

	lua_getfield(L, g, "table");
	lua_pushcfunction(L, l_table_move);
	lua_setfield(L, -2, "move");
	lua_pop(L, 1);

	lua_getfield(L, g, "math");
	lua_pushlightuserdata(L, sc->rng);
	lua_pushcclosure(L, l_random, 1);
	lua_setfield(L, -2, "random");
	lua_pushcfunction(L, l_randomseed);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);

	/* package: Lua modules from two directories, no C modules */
	lua_getfield(L, g, "package");
	int pkg = lua_gettop(L);
	lua_pushnil(L);
	lua_setfield(L, pkg, "loadlib");
	lua_pushnil(L);
	lua_setfield(L, pkg, "searchpath");
	lua_pushliteral(L, "");
	lua_setfield(L, pkg, "path");
	lua_pushliteral(L, "");
	lua_setfield(L, pkg, "cpath");
	lua_createtable(L, 2, 0);
	lua_getfield(L, pkg, "searchers");
	lua_rawgeti(L, -1, 1); /* the package.preload searcher */
	lua_rawseti(L, -3, 1);
	lua_pop(L, 1);
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_searcher, 1);
	lua_rawseti(L, -2, 2);
	lua_setfield(L, pkg, "searchers");
	lua_pop(L, 1);

	lua_createtable(L, 0, 4);
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_now, 1);
	lua_setfield(L, -2, "now");
	lua_pushcfunction(L, l_log);
	lua_setfield(L, -2, "log");
#ifdef PACKAGE_VERSION
	lua_pushliteral(L, PACKAGE_VERSION);
	lua_setfield(L, -2, "version");
#endif
	lua_pushstring(L, sc->info.path);
	lua_setfield(L, -2, "script");
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_param, 1);
	lua_setfield(L, -2, "param");
	lua_pushlightuserdata(L, sc);
	lua_pushcclosure(L, l_node_state, 1);
	lua_setfield(L, -2, "node_state");
	lua_setfield(L, g, "ddbsim");

	for (int k = 0; k < K_N; k++) {
		lua_pushstring(L, scn_order_key_names[k]);
		sc->keys[k] = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	return 0;
}
