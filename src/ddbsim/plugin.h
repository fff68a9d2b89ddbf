/*
 * ddbsim/plugin.h - the public plugin ABI of ddbsim.
 *
 * A plugin is a shared module that exports exactly one symbol,
 * DDB_PLUGIN_ENTRY_SYMBOL, a function returning a descriptor: ABI version,
 * kind (storage or transport), name, version, capabilities and a table of
 * operations.  The core loads it with dlopen(RTLD_NOW|RTLD_LOCAL) and refuses
 * a descriptor whose abi differs from DDB_PLUGIN_ABI.
 *
 * Storage operations are domain operations (place orders, apply events at the
 * center, ...), never SQL strings, so that every backend serves them natively.
 * Every operation returns a ddb_status and, on failure, fills err->msg.
 * DDB_UNAVAILABLE is the only status the core retries or queues; every other
 * failure is final for that call.
 *
 * This header includes only the C standard library: a plugin needs nothing
 * else from ddbsim to build.
 */
#ifndef DDBSIM_PLUGIN_H
#define DDBSIM_PLUGIN_H

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI 2: the descriptor lists the settings a plugin reads (settings).
 * ABI 3: open() gets flags (DDB_OPEN_READONLY). */
#define DDB_PLUGIN_ABI 3
#define DDB_PLUGIN_ENTRY_SYMBOL "ddbsim_plugin_entry"

/* ---- statuses and errors ------------------------------------------------ */

enum ddb_status {
	DDB_OK = 0,
	DDB_NOT_FOUND,    /* no such row, product, message */
	DDB_DUPLICATE,    /* the key exists already: nothing was changed */
	DDB_INSUFFICIENT, /* not enough stock: nothing was changed */
	DDB_INVALID,      /* bad argument: final */
	DDB_UNAVAILABLE,  /* connection lost, server down: retry or queue */
	DDB_INTERNAL      /* anything else: final */
};

#define DDB_ERR_MAX 256
struct ddb_err {
	char msg[DDB_ERR_MAX];
};

/* ---- sizes of the fixed fields (bytes, including the final NUL) --------- */

#define DDB_NAME_MAX 64       /* node and region names, customer ids */
#define DDB_SKU_MAX 64        /* product keys */
#define DDB_ID_MAX 96         /* order ids, event ids */
#define DDB_TITLE_MAX 192     /* product names (UTF-8) */
#define DDB_COMPONENTS_MAX 16 /* components per product */

/* ---- domain records ----------------------------------------------------- */

struct ddb_component {
	char sku[DDB_SKU_MAX];
	int64_t quantity;
};

struct ddb_product {
	char sku[DDB_SKU_MAX];
	char name[DDB_TITLE_MAX];
	int64_t price_cents;
	int64_t version; /* a higher version replaces a lower one */
	size_t n_components;
	struct ddb_component components[DDB_COMPONENTS_MAX];
};

/* An order.  id is globally unique ("<region>-<sequence>", the sequence
 * zero-padded so that ids sort bytewise in placement order). */
struct ddb_order {
	char id[DDB_ID_MAX];
	char region[DDB_NAME_MAX];
	char customer[DDB_NAME_MAX];
	char sku[DDB_SKU_MAX];
	int64_t quantity;
	int64_t unit_price_cents;
	int64_t placed_at_us; /* engine clock, microseconds */
};

enum ddb_event_kind { DDB_EVENT_ORDER = 1, DDB_EVENT_PRODUCT = 2 };

/* Outbox states: written with the order (NEW), handed to the transport and
 * confirmed (PUBLISHED), applied at the center (APPLIED). */
enum ddb_outbox_state { DDB_OUTBOX_NEW = 0, DDB_OUTBOX_PUBLISHED = 1, DDB_OUTBOX_APPLIED = 2 };

/* A change event, written to a region's outbox in the transaction that made
 * the change, and applied at the center idempotently by its key (the order id
 * for orders; sku and version for products). */
struct ddb_event {
	int64_t seq;             /* outbox sequence in the origin region, from 1 */
	char id[DDB_ID_MAX];     /* "<region>:<seq>" */
	char origin[DDB_NAME_MAX];
	int kind;                /* enum ddb_event_kind */
	int state;               /* enum ddb_outbox_state */
	int64_t created_at_us;
	struct ddb_order order;     /* kind == DDB_EVENT_ORDER */
	struct ddb_product product; /* kind == DDB_EVENT_PRODUCT */
};

/* A customer record, kept on its home region and replicated to others.
 * Writes are idempotent and last writer by version wins: a record replaces
 * the stored one only when its version is higher.  A delete is a record
 * with deleted = 1 (a tombstone), so that it replicates like any write. */
struct ddb_customer {
	char id[DDB_NAME_MAX];        /* customer_id: the key */
	char unique_id[DDB_NAME_MAX]; /* customer_unique_id */
	int64_t zip_prefix;           /* zip_code_prefix */
	char city[DDB_TITLE_MAX];
	char state[DDB_NAME_MAX];
	char name[DDB_TITLE_MAX];     /* optional: "" */
	char email[DDB_TITLE_MAX];    /* optional: "" */
	char home[DDB_NAME_MAX];      /* the home region */
	int64_t version;              /* >= 1 */
	int deleted;                  /* 1: a tombstone */
	int64_t updated_at_us;        /* engine clock of the write */
};

/* Which customers find_customers returns: live records (no tombstones)
 * whose zip prefix is in [zip_min, zip_max] and whose city and state equal
 * the given ones, ignoring ASCII case (NULL: any).  Ordered by id; at most
 * limit (0: no limit). */
struct ddb_customer_filter {
	int64_t zip_min, zip_max;
	const char *city;
	const char *state;
	size_t limit;
};

/* ---- rows returned by scans, for checks and the state hash -------------- */

enum ddb_dataset {
	DDB_DS_PRODUCTS = 1,   /* regional: struct ddb_product, by sku */
	DDB_DS_INVENTORY,      /* regional: struct ddb_stock, by sku */
	DDB_DS_ORDERS,         /* regional: struct ddb_order, by id */
	DDB_DS_OUTBOX,         /* regional: struct ddb_event, by seq */
	DDB_DS_CENTRAL_PRODUCTS, /* central: struct ddb_product, by sku */
	DDB_DS_CENTRAL_ORDERS, /* central: struct ddb_order (+applied_at), by id */
	DDB_DS_ORDER_LOGS,     /* documents: struct ddb_order, by order id */
	DDB_DS_COMPONENTS,     /* documents: struct ddb_product, by sku */
	DDB_DS_CUSTOMERS       /* regional: struct ddb_customer, by id, tombstones too */
};

struct ddb_stock {
	char sku[DDB_SKU_MAX];
	int64_t stock;    /* on hand now */
	int64_t received; /* initial stock plus every restock */
	int64_t sold;     /* sum of the quantities of the orders placed */
};

struct ddb_row {
	int dataset; /* enum ddb_dataset */
	struct ddb_product product;
	struct ddb_stock stock;
	struct ddb_order order;
	struct ddb_event event;
	struct ddb_customer customer;
	int64_t applied_at_us; /* DDB_DS_CENTRAL_ORDERS only */
};

/* One line of a sales report. */
struct ddb_sales {
	char key[DDB_SKU_MAX]; /* region name or sku */
	int64_t orders;
	int64_t units;
	int64_t revenue_cents;
};

enum ddb_sales_by { DDB_SALES_BY_REGION = 1, DDB_SALES_BY_PRODUCT = 2 };

/* ---- opening a plugin instance ------------------------------------------ */

struct ddb_option {
	const char *key;
	const char *value;
};

/* How to open (ddb_open_args.flags).
 *
 * DDB_OPEN_READONLY: the instance only observes (`ddbsim check`).  open()
 * creates nothing and changes nothing: no file, directory, database, table,
 * index, function or queue; no schema migration; nothing written at
 * close().  A store that does not exist, or lacks the tables (collections)
 * of a role it serves, is refused with DDB_NOT_FOUND and a message naming
 * it.  The core then calls only scan_open/scan_next/scan_close,
 * sales_report, outbox_read, get_customer and find_customers on a store,
 * and only declare and depth on a transport; declare creates nothing
 * either: a queue that does not exist reads as empty (depth 0 and 0).  Any
 * other operation may fail with DDB_INVALID. */
enum ddb_open_flags { DDB_OPEN_READONLY = 1u << 0 };

struct ddb_open_args {
	const char *node;     /* node name: a region, "central", "documents", "broker" */
	const char *data_dir; /* where an embedded backend keeps its files */
	unsigned roles;       /* storage: the DDB_ROLE_* this instance serves */
	const struct ddb_option *options; /* settings from the config section */
	size_t n_options;
	unsigned flags;       /* DDB_OPEN_*; 0: read and write, create what is missing */
};

/* ---- storage ------------------------------------------------------------ */

enum ddb_role {
	DDB_ROLE_REGIONAL = 1u << 0,
	DDB_ROLE_CENTRAL = 1u << 1,
	DDB_ROLE_DOCUMENTS = 1u << 2
};
/* Every role: what a plugin that serves them all puts in caps. */
#define DDB_ROLES_ALL (DDB_ROLE_REGIONAL | DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS)

struct ddb_storage_ops {
	enum ddb_status (*open)(const struct ddb_open_args *args, void **handle, struct ddb_err *err);
	void (*close)(void *handle);
	/* Create the schema if missing (open does this too) and delete all data. */
	enum ddb_status (*reset)(void *handle, struct ddb_err *err);

	/* regional */
	/* Insert or replace a product when version is higher than the stored
	 * one; an inventory row (stock 0) appears with it; and a PRODUCT event
	 * goes to the outbox, all in one transaction.  Same or lower version:
	 * DDB_DUPLICATE, nothing changed. */
	enum ddb_status (*upsert_product)(void *handle, const struct ddb_product *product,
	                                  int64_t now_us, struct ddb_err *err);
	/* Add quantity (> 0) to stock and received.  Unknown sku: NOT_FOUND. */
	enum ddb_status (*restock)(void *handle, const char *sku, int64_t quantity,
	                           struct ddb_err *err);
	/* Place n orders in one durable commit (group commit).  Each order is
	 * atomic on its own: its conditional stock decrement, its order row and
	 * its ORDER outbox event take effect together or not at all, and its
	 * result goes to results[i]: OK, INSUFFICIENT, NOT_FOUND (sku),
	 * DUPLICATE (the id exists: nothing changed) or INVALID.  The call
	 * returns OK once every OK order is durable; any other return means
	 * nothing of the batch was committed. */
	enum ddb_status (*place_orders)(void *handle, const struct ddb_order *orders, size_t n,
	                                enum ddb_status *results, struct ddb_err *err);
	/* Up to max events with seq > after_seq and state == want_state, in
	 * seq order; *n_out set to how many were written. */
	enum ddb_status (*outbox_read)(void *handle, int64_t after_seq, int want_state,
	                               struct ddb_event *events, size_t max, size_t *n_out,
	                               struct ddb_err *err);
	/* Set the state of the given events (by seq), in one transaction.  A
	 * state never goes down: marking an APPLIED event PUBLISHED is a no-op. */
	enum ddb_status (*outbox_mark)(void *handle, const int64_t *seqs, size_t n, int state,
	                               struct ddb_err *err);
	/* Set every PUBLISHED event back to NEW (after a non-durable transport
	 * lost what it held). */
	enum ddb_status (*outbox_requeue)(void *handle, struct ddb_err *err);
	/* Write n customer records in one transaction: each replaces the
	 * stored record with the same id only if its version is higher;
	 * results[i] is OK (written) or DUPLICATE (same or newer version
	 * stored: nothing changed) or INVALID (empty id or home, version < 1,
	 * strings not NUL-terminated).  Any other return: nothing written. */
	enum ddb_status (*put_customers)(void *handle, const struct ddb_customer *customers,
	                                 size_t n, enum ddb_status *results, struct ddb_err *err);
	/* The stored record (a tombstone too), or NOT_FOUND. */
	enum ddb_status (*get_customer)(void *handle, const char *id, struct ddb_customer *out,
	                                struct ddb_err *err);
	/* Calls emit for each live record the filter selects, by id. */
	enum ddb_status (*find_customers)(void *handle, const struct ddb_customer_filter *filter,
	                                  void (*emit)(void *ctx, const struct ddb_customer *c),
	                                  void *ctx, struct ddb_err *err);

	/* central */
	/* Apply events in one transaction, idempotently: an order already
	 * present, or a product version not higher than the stored one, changes
	 * nothing.  applied_at_us is stored with each new central order. */
	enum ddb_status (*apply_events)(void *handle, const struct ddb_event *events, size_t n,
	                                int64_t applied_at_us, struct ddb_err *err);
	/* Calls emit once per line, ordered by key (bytewise). */
	enum ddb_status (*sales_report)(void *handle, int by,
	                                void (*emit)(void *ctx, const struct ddb_sales *line),
	                                void *ctx, struct ddb_err *err);

	/* documents */
	/* Upsert one order-log document per order, keyed by order id. */
	enum ddb_status (*put_order_logs)(void *handle, const struct ddb_order *orders, size_t n,
	                                  int64_t logged_at_us, struct ddb_err *err);
	/* Upsert the product-component document of each product, by sku,
	 * replacing an older version. */
	enum ddb_status (*put_components)(void *handle, const struct ddb_product *products,
	                                  size_t n, struct ddb_err *err);

	/* scans: every row of a dataset in key order (bytewise), optionally only
	 * those of one region (region != NULL: orders, central orders, order logs
	 * whose region matches).  scan_next returns NOT_FOUND at the end. */
	enum ddb_status (*scan_open)(void *handle, int dataset, const char *region,
	                             void **cursor, struct ddb_err *err);
	enum ddb_status (*scan_next)(void *cursor, struct ddb_row *row, struct ddb_err *err);
	void (*scan_close)(void *cursor);
};

/* ---- transport ---------------------------------------------------------- */

enum ddb_transport_caps {
	DDB_TRANSPORT_DURABLE = 1u << 0 /* messages survive a restart of ddbsim */
};

/* A received message.  body stays valid until the delivery is acked or
 * rejected, or the next receive on the same queue, whichever comes first. */
struct ddb_delivery {
	uint64_t tag;
	const void *body;
	size_t len;
	int redelivered;
};

struct ddb_transport_ops {
	enum ddb_status (*open)(const struct ddb_open_args *args, void **handle, struct ddb_err *err);
	void (*close)(void *handle);
	/* Delete every queue and message. */
	enum ddb_status (*reset)(void *handle, struct ddb_err *err);
	/* Create a durable queue if it does not exist. */
	enum ddb_status (*declare)(void *handle, const char *queue, struct ddb_err *err);
	/* Publish a persistent message.  It counts as sent only after confirm. */
	enum ddb_status (*publish)(void *handle, const char *queue, const void *body, size_t len,
	                           struct ddb_err *err);
	/* Wait until the broker has confirmed every publish since the last
	 * confirm.  Anything but OK: assume none of them was taken. */
	enum ddb_status (*confirm)(void *handle, struct ddb_err *err);
	/* Receive up to max messages from the head of a queue (requeued ones
	 * first, in their original order); *n_out = 0 when it is empty. */
	enum ddb_status (*receive)(void *handle, const char *queue, struct ddb_delivery *out,
	                           size_t max, size_t *n_out, struct ddb_err *err);
	enum ddb_status (*ack)(void *handle, const char *queue, uint64_t tag, struct ddb_err *err);
	/* requeue != 0: back to the head of the queue, marked redelivered;
	 * requeue == 0: dropped. */
	enum ddb_status (*reject)(void *handle, const char *queue, uint64_t tag, int requeue,
	                          struct ddb_err *err);
	/* Requeue every unacked delivery of the queue, as when its consumer
	 * dies. */
	enum ddb_status (*recover)(void *handle, const char *queue, struct ddb_err *err);
	/* ready: waiting for delivery; unacked: delivered, not yet acked. */
	enum ddb_status (*depth)(void *handle, const char *queue, uint64_t *ready,
	                         uint64_t *unacked, struct ddb_err *err);
};

/* ---- the descriptor ----------------------------------------------------- */

enum ddb_plugin_kind { DDB_KIND_STORAGE = 1, DDB_KIND_TRANSPORT = 2 };

struct ddb_plugin {
	int abi;             /* DDB_PLUGIN_ABI */
	int kind;            /* enum ddb_plugin_kind */
	const char *name;    /* "sqlite", "memory", ... */
	const char *version; /* the plugin's own version string */
	unsigned caps;       /* storage: DDB_ROLE_* served; transport: DDB_TRANSPORT_* */
	const struct ddb_storage_ops *storage;     /* kind == DDB_KIND_STORAGE */
	const struct ddb_transport_ops *transport; /* kind == DDB_KIND_TRANSPORT */
	/* The option keys open() reads, NULL-terminated (NULL: none).  The core
	 * refuses a config section that gives any other key, naming its line,
	 * so that a misspelt setting is an error rather than a default. */
	const char *const *settings;
};

typedef const struct ddb_plugin *(*ddb_plugin_entry_fn)(void);

/* The one symbol a plugin exports. */
const struct ddb_plugin *ddbsim_plugin_entry(void);

/* Helpers for plugins (static inline: nothing to link). */

/* printf-style checking of a plugin's own message functions. */
#if defined(__GNUC__)
#define DDB_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define DDB_PRINTF_LIKE(f, a)
#endif

/* A plugin's failure: "NAME: WHERE: MESSAGE" in err->msg, or "NAME:
 * MESSAGE" when where is NULL, cut to fit (nothing when err is NULL).
 * Returns st, so that a failure is one statement: return ddb_fail(...).
 * Each plugin wraps it in a macro that supplies its name and instance. */
DDB_PRINTF_LIKE(5, 6)
static inline enum ddb_status ddb_fail(struct ddb_err *err, enum ddb_status st, const char *name,
                                       const char *where, const char *fmt, ...)
{
	if (!err)
		return st;
	int n = where ? snprintf(err->msg, sizeof err->msg, "%s: %s: ", name, where)
	              : snprintf(err->msg, sizeof err->msg, "%s: ", name);
	if (n >= 0 && (size_t)n < sizeof err->msg) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return st;
}

static inline const char *ddb_option_get(const struct ddb_open_args *args, const char *key,
                                         const char *fallback)
{
	for (size_t i = 0; i < args->n_options; i++) {
		const char *k = args->options[i].key, *q = key;
		while (*k && *k == *q) {
			k++;
			q++;
		}
		if (*k == *q)
			return args->options[i].value;
	}
	return fallback;
}

/* Typed settings.  Each reads the option key (def when it is absent) and,
 * when the value is not allowed, returns DDB_INVALID with err->msg in one
 * format that names the key and what is allowed, e.g.
 *   option busy_timeout_ms = 'soon': expected a whole number from 0 to 2147483647
 *   option keep_queues = 'maybe': expected yes or no
 *   option synchronous = 'SOMETIMES': expected OFF, NORMAL, FULL or EXTRA
 * A plugin puts its own prefix (instance, operation) in front of it. */

/* The ASCII letters of a and b equal, ignoring case. */
static inline int ddb_option_same(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
		if (!x)
			return 1;
	}
}

/* A decimal integer from min to max: digits only, with a leading - where
 * min is negative (no blanks, no +). */
static inline enum ddb_status ddb_option_long(const struct ddb_open_args *args, const char *key,
                                              long def, long min, long max, long *out,
                                              struct ddb_err *err)
{
	const char *v = ddb_option_get(args, key, NULL);
	if (!v) {
		*out = def;
		return DDB_OK;
	}
	const char *p = v;
	int neg = *p == '-' && min < 0; /* a sign only where negatives are allowed */
	if (neg)
		p++;
	int ok = *p >= '0' && *p <= '9';
	unsigned long mag = 0, limit = neg ? (unsigned long)LONG_MAX + 1 : (unsigned long)LONG_MAX;
	for (; ok && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		ok = mag <= (limit - d) / 10;
		mag = mag * 10 + d;
	}
	long n = 0;
	if (ok && *p == '\0')
		n = neg ? (mag ? -(long)(mag - 1) - 1 : 0) : (long)mag;
	if (!ok || *p != '\0' || n < min || n > max) {
		snprintf(err->msg, sizeof err->msg,
		         "option %s = '%s': expected a whole number from %ld to %ld", key, v, min, max);
		return DDB_INVALID;
	}
	*out = n;
	return DDB_OK;
}

/* yes or no (also on/off, true/false, 1/0), in any case. */
static inline enum ddb_status ddb_option_bool(const struct ddb_open_args *args, const char *key,
                                              int def, int *out, struct ddb_err *err)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	const char *v = ddb_option_get(args, key, NULL);
	if (!v) {
		*out = def;
		return DDB_OK;
	}
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (ddb_option_same(v, yes[i]) || ddb_option_same(v, no[i])) {
			*out = ddb_option_same(v, yes[i]);
			return DDB_OK;
		}
	}
	snprintf(err->msg, sizeof err->msg, "option %s = '%s': expected yes or no", key, v);
	return DDB_INVALID;
}

/* One of names (a NULL-terminated list), in any case: *out is its index.
 * def is the index taken when the option is absent. */
static inline enum ddb_status ddb_option_enum(const struct ddb_open_args *args, const char *key,
                                              int def, const char *const *names, int *out,
                                              struct ddb_err *err)
{
	const char *v = ddb_option_get(args, key, NULL);
	if (!v) {
		*out = def;
		return DDB_OK;
	}
	for (int i = 0; names[i]; i++) {
		if (ddb_option_same(v, names[i])) {
			*out = i;
			return DDB_OK;
		}
	}
	size_t len = (size_t)snprintf(err->msg, sizeof err->msg, "option %s = '%s': expected ", key, v);
	for (int i = 0; names[i] && len < sizeof err->msg; i++) {
		const char *sep = i == 0 ? "" : names[i + 1] ? ", " : " or ";
		len += (size_t)snprintf(err->msg + len, sizeof err->msg - len, "%s%s", sep, names[i]);
	}
	return DDB_INVALID;
}

static inline const char *ddb_status_name(enum ddb_status s)
{
	switch (s) {
	case DDB_OK: return "OK";
	case DDB_NOT_FOUND: return "NOT_FOUND";
	case DDB_DUPLICATE: return "DUPLICATE";
	case DDB_INSUFFICIENT: return "INSUFFICIENT";
	case DDB_INVALID: return "INVALID";
	case DDB_UNAVAILABLE: return "UNAVAILABLE";
	case DDB_INTERNAL: return "INTERNAL";
	}
	return "UNKNOWN";
}

#ifdef __cplusplus
}
#endif
#endif /* DDBSIM_PLUGIN_H */
