/*
 * scenario_int.h - what the scenario module's files share, private to them
 * (the public API is scenario.h):
 *
 *   scenario.c            load, free, the hooks the engine calls, the rule
 *                         contract and the checks
 *   scenario_limits.c     the counting allocator, the count hook and
 *                         bounded_call(): every call into the script runs
 *                         within the memory, instruction and time limits
 *   scenario_sandbox.c    the restricted Lua state (base library without
 *                         files, require from two directories, ddbsim.*)
 *   scenario_parse.c      validation of the table the script returns
 *   scenario_customers.c  the customer hooks (workload.customers, rules.customer_*)
 *
 * Functions shared between these files are prefixed scn_; small helpers are
 * static inline here.
 */
#ifndef DDBSIM_SCENARIO_INT_H
#define DDBSIM_SCENARIO_INT_H

#include "scenario.h"

#include <lua.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Times in a script: seconds, 0 <= t <= TIME_MAX_S (fits microseconds in a
 * double exactly). */
#define TIME_MAX_S 1e9
/* Stock, restock and component quantities: 0 or 1 <= q <= QTY_MAX. */
#define QTY_MAX SCENARIO_UNITS_MAX

#define DEFAULT_DURATION_S 60.0
#define DEFAULT_CUSTOMER "guest"
#define DEFAULT_REASON "rejected"

/* The count hook runs every HOOK_EVERY instructions of a call. */
#define HOOK_EVERY 1000

/* A Lua function the engine calls, and where it was defined (for errors
 * about what it returned). */
struct hook {
	int ref;         /* LUA_NOREF: none */
	const char *src; /* the function's source (a path); owned by the Lua state */
	int line;        /* where it was defined */
};

struct check {
	char *name;
	struct hook fn;
};

enum rate_kind { RATE_NUMBER = 1, RATE_TABLE, RATE_FUNCTION };

/* The field names of an order table, interned once and kept in the
 * registry: pushing a key by ref skips the lookup of a C string. */
enum order_key { K_ID, K_REGION, K_CUSTOMER, K_SKU, K_QUANTITY, K_UNIT_PRICE, K_PLACED_AT, K_N };
extern const char *const scn_order_key_names[K_N]; /* in scenario.c */

struct scenario {
	struct scenario_info info;
	lua_State *L;
	struct prng *rng;
	int64_t now_us;
	char *dir;     /* the script's directory: require looks here first */
	char *pkg_dir; /* then here (may be NULL) */
	char **chunks; /* full paths of the modules loaded, for messages */
	size_t n_chunks;
	int *region_refs; /* region names as Lua strings, by region index */
	int rate_kind;
	double rate;   /* RATE_NUMBER */
	double *rates; /* RATE_TABLE, by region index */
	struct hook rate_fn;
	struct hook order_fn;
	struct hook rule_fn;
	struct check *checks; /* sorted by name */
	size_t n_checks;
	int keys[K_N]; /* order_key -> registry ref of the name */
	int has_customers;
	double customer_rate;           /* when customer_rate_fn is unset */
	struct hook customer_rate_fn;
	struct hook customer_op_fn;
	struct hook home_fn;            /* rules.customer_home */
	struct hook replicas_fn;        /* rules.customer_replicas */
	size_t replication;             /* replicas per customer without the rule */
	const char *(*node_state)(void *ctx, const char *node);
	void *node_ctx;
	const struct ddb_option *params; /* --param NAME=VALUE, for ddbsim.param */
	size_t n_params;
	unsigned char *param_read;       /* which params the script asked for */
	int64_t units_total;             /* stock in every region + restocks so far */

	/* The limits (see bounded_call). */
	struct scenario_limits limits;
	size_t mem_used;              /* bytes the Lua state holds */
	size_t mem_hard;              /* the memory limit and some slack: never more */
	int armed;                    /* a bounded call runs: the memory limit applies */
	int mem_over;                 /* past the memory limit: the count hook collects and checks */
	int mem_refused;              /* an allocation refused and not retried with success */
	const void *refused_block;    /* ... which one */
	size_t refused_size;
	uint64_t instructions;        /* run by the current call (HOOK_EVERY at a time) */
	struct timespec started;      /* when the current call started */
	const char *what;             /* the current call, e.g. "hook rules.order" */
	const struct hook *what_hook; /* its hook (for a position), or NULL */
	int has_fatal;                /* a call went past a limit: */
	char fatal[1024];             /* "SCRIPT:LINE: in WHAT: ... limit exceeded (...)" */
};
/* How read_verdict() reads what a hook returned. */
struct contract {
	int answer_type;            /* the type of the hook's own answer; LUA_TNONE: none */
	const char *expected;       /* what the hook returns, for an error message */
	int nothing_accepts;        /* else returning nothing is an error (a check) */
	const char *reason_word;    /* "reason", "detail" */
	size_t reason_max;          /* bytes, with the NUL */
	int cut_long;               /* a longer reason is cut on a character boundary, else an error */
	const char *default_reason; /* NULL: "returned false" or "returned nil" */
};


/* ---- small helpers -------------------------------------------------------- */

static inline void set_msg(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void set_msg(char *buf, size_t len, const char *fmt, ...)
{
	if (buf == NULL || len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static inline void clear_msg(char *buf, size_t len)
{
	if (buf != NULL && len > 0)
		buf[0] = '\0';
}

/* Copies a validated string into a fixed field, zero-filling the rest so
 * that the record's bytes are deterministic. */
static inline void copy_field(char *dst, size_t dstsize, const char *src, size_t len)
{
	memcpy(dst, src, len);
	memset(dst + len, 0, dstsize - len);
}

static inline double now_s(const struct scenario *sc)
{
	return (double)sc->now_us / 1e6;
}

/* The error message at the top of the stack after a failed lua_pcall. */
static inline const char *error_text(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	return msg != NULL ? msg : "(error object is not a string)";
}

static inline struct scenario *scenario_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* Pushes t[k] (raw) and returns its type. */
static inline int getf(lua_State *L, int t, const char *k)
{
	lua_pushstring(L, k);
	return lua_rawget(L, t);
}


/* ---- scenario.c ----------------------------------------------------------- */

/* A string for a fixed field of size max (bytes, with the NUL). */
int scn_field_string(lua_State *L, int idx, const char *field, size_t max, const char **s,
                     size_t *len, char *msg, size_t msglen);
/* The error of a failed hook call (at the top of the stack) in out. */
void scn_hook_error(const struct scenario *sc, const struct hook *h, const char *what, char *out,
                    size_t outlen);
/* An unusable value returned by a hook: named with the hook's position. */
void scn_hook_fail(const struct scenario *sc, const struct hook *h, const char *what, char *out,
                   size_t outlen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
enum rule_verdict scn_read_verdict(const struct scenario *sc, const struct hook *h,
                                   const char *what, int base, const struct contract *c,
                                   int *answer, char *out, size_t outlen);

/* ---- scenario_limits.c ---------------------------------------------------- */

void *scn_bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
int scn_panic(lua_State *L);
void scn_memory_exceeded(const struct scenario *sc, char *out, size_t outlen);
void scn_set_fatal(struct scenario *sc, const char *src, int line, const char *why);
void scn_caller_position(lua_State *L, lua_Debug *ar, const char **src, int *line);
_Noreturn void scn_raise_fatal(struct scenario *sc, lua_State *L);
void scn_charge(lua_State *L, uint64_t n);
int scn_bounded_call(struct scenario *sc, int nargs, int nresults, const char *what,
                     const struct hook *h);

/* ---- scenario_sandbox.c --------------------------------------------------- */

/* setup_sandbox(sc): a lua_CFunction, run protected on the new state. */
int scn_setup_sandbox(lua_State *L);

/* ---- scenario_fields.c ---------------------------------------------------- */

/* Validation runs in a protected C function; an error is "PATH: message". */
_Noreturn void scn_fail(lua_State *L, const struct scenario *sc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "catalog[2]" + "price" -> "catalog[2].price"; "" + "name" -> "name". */
void scn_join_field(char *out, size_t outlen, const char *where, const char *key);
/* Fails on a key of the table at t not in allowed (NULL-terminated). */
void scn_check_keys(lua_State *L, const struct scenario *sc, int t, const char *const *allowed,
                    const char *where);
/* Fails on a key of the map at t that the lookup table at lk lacks. */
void scn_check_map_keys(lua_State *L, const struct scenario *sc, int t, int lk,
                        const char *field, const char *what, const char *where);
/* The length of the list at t (a table whose keys are 1..n), or a failure. */
size_t scn_list_len(lua_State *L, const struct scenario *sc, int t, const char *field);
/* Values at idx, checked, or a failure naming field. */
void scn_string_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                   size_t max, char *dst);
int64_t scn_time_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                    int positive);
int64_t scn_count_at(lua_State *L, const struct scenario *sc, int idx, const char *field,
                     int64_t min);
int64_t scn_price_at(lua_State *L, const struct scenario *sc, int idx, const char *field);
/* Counts q units (times over) towards the run's bound on stock. */
void scn_add_units(lua_State *L, struct scenario *sc, const char *field, int64_t q,
                   size_t times);

/* Each reads one field of a table, at->t[key], checks it, stores it in *out
 * and returns 1.  An absent field: with OPTIONAL, 0 and *out untouched;
 * with REQUIRED, the checker gets the nil and names what it wanted.
 * at->field gets "WHERE.KEY" for the caller's own messages about the value. */

enum {
	OPTIONAL = 0,
	REQUIRED = 1,
	POSITIVE = 2, /* a time > 0 */
	KEEP = 4,     /* field_text: leave the string pushed (for a lookup) */
};

/* A table being read: its stack index and where it is, for messages
 * ("catalog[2]"; "" for the scenario table itself). */
struct scn_at {
	struct scenario *sc;
	int t;
	const char *where;
	char field[160]; /* the field last read */
};

int scn_field_get(lua_State *L, struct scn_at *at, const char *key, int flags);
int scn_field_time(lua_State *L, struct scn_at *at, const char *key, int flags, int64_t *out);
int scn_field_count(lua_State *L, struct scn_at *at, const char *key, int flags, int64_t min,
                    int64_t *out);
int scn_field_text(lua_State *L, struct scn_at *at, const char *key, int flags, size_t max,
                   char *dst);
int scn_field_price(lua_State *L, struct scn_at *at, const char *key, int flags, int64_t *out);
/* Index (0-based) of the name at idx in the lookup table at lk, or -1. */
long scn_lookup(lua_State *L, int lk, int idx);

/* ---- scenario_parse.c ----------------------------------------------------- */

/* validate(sc, scenario_table): a lua_CFunction, run as a bounded call;
 * fills sc from the table, or raises "PATH: message". */
int scn_validate(lua_State *L);
/* Sorts the restocks and the failure steps by time, stably; -1: no memory. */
int scn_sort_steps(struct scenario *sc);
/* actions[i].step: a failure step started by a client (scenario_actions.c). */
void scn_parse_step_action(lua_State *L, struct scenario *sc, int e, const char *w, int regidx,
                           struct scenario_action *a);

/* ---- scenario_actions.c ---------------------------------------------------- */

/* The `actions` list (a recorded serve session) into sc->info. */
void scn_parse_actions(lua_State *L, struct scenario *sc, int T, int regidx);

#endif
