/*
 * good.c - a test plugin: a storage plugin serving every role, with a
 * complete table of trivial operations.  Built from <ddbsim/plugin.h> alone,
 * to prove that the public header is enough to write a plugin.
 */
#include <ddbsim/plugin.h>

#include <stdio.h>

static int instance;

static enum ddb_status good_open(const struct ddb_open_args *args, void **handle,
                                 struct ddb_err *err)
{
	/* A flag it does not know is refused, not ignored.  Read-only
	 * (DDB_OPEN_READONLY) changes nothing here: it stores nothing. */
	if (args->flags & ~(unsigned)DDB_OPEN_READONLY) {
		snprintf(err->msg, sizeof err->msg, "unknown open flags %#x", args->flags);
		return DDB_INVALID;
	}
	*handle = &instance;
	return DDB_OK;
}

static void good_close(void *handle)
{
	(void)handle;
}

static enum ddb_status good_reset(void *handle, struct ddb_err *err)
{
	(void)handle;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_upsert_product(void *handle, const struct ddb_product *product,
                                           int64_t now_us, struct ddb_err *err)
{
	(void)handle;
	(void)product;
	(void)now_us;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_restock(void *handle, const char *sku, int64_t quantity,
                                    struct ddb_err *err)
{
	(void)handle;
	(void)quantity;
	snprintf(err->msg, sizeof err->msg, "no product %s", sku);
	return DDB_NOT_FOUND;
}

static enum ddb_status good_place_orders(void *handle, const struct ddb_order *orders, size_t n,
                                         enum ddb_status *results, struct ddb_err *err)
{
	(void)handle;
	(void)orders;
	(void)err;
	for (size_t i = 0; i < n; i++)
		results[i] = DDB_NOT_FOUND;
	return DDB_OK;
}

static enum ddb_status good_outbox_read(void *handle, int64_t after_seq, int want_state,
                                        struct ddb_event *events, size_t max, size_t *n_out,
                                        struct ddb_err *err)
{
	(void)handle;
	(void)after_seq;
	(void)want_state;
	(void)events;
	(void)max;
	(void)err;
	*n_out = 0;
	return DDB_OK;
}

static enum ddb_status good_outbox_mark(void *handle, const int64_t *seqs, size_t n, int state,
                                        struct ddb_err *err)
{
	(void)handle;
	(void)seqs;
	(void)n;
	(void)state;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_outbox_requeue(void *handle, struct ddb_err *err)
{
	(void)handle;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_put_customers(void *handle, const struct ddb_customer *customers,
                                          size_t n, enum ddb_status *results, struct ddb_err *err)
{
	(void)handle;
	(void)customers;
	(void)err;
	for (size_t i = 0; i < n; i++)
		results[i] = DDB_OK;
	return DDB_OK;
}

static enum ddb_status good_get_customer(void *handle, const char *id, struct ddb_customer *out,
                                         struct ddb_err *err)
{
	(void)handle;
	(void)id;
	(void)out;
	(void)err;
	return DDB_NOT_FOUND;
}

static enum ddb_status good_find_customers(void *handle, const struct ddb_customer_filter *filter,
                                           void (*emit)(void *ctx, const struct ddb_customer *c),
                                           void *ctx, struct ddb_err *err)
{
	(void)handle;
	(void)filter;
	(void)emit;
	(void)ctx;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_apply_events(void *handle, const struct ddb_event *events, size_t n,
                                         int64_t applied_at_us, struct ddb_err *err)
{
	(void)handle;
	(void)events;
	(void)n;
	(void)applied_at_us;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_sales_report(void *handle, int by,
                                         void (*emit)(void *ctx, const struct ddb_sales *line),
                                         void *ctx, struct ddb_err *err)
{
	(void)handle;
	(void)by;
	(void)emit;
	(void)ctx;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_put_order_logs(void *handle, const struct ddb_order *orders,
                                           size_t n, int64_t logged_at_us, struct ddb_err *err)
{
	(void)handle;
	(void)orders;
	(void)n;
	(void)logged_at_us;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_put_components(void *handle, const struct ddb_product *products,
                                           size_t n, struct ddb_err *err)
{
	(void)handle;
	(void)products;
	(void)n;
	(void)err;
	return DDB_OK;
}

static enum ddb_status good_scan_open(void *handle, int dataset, const char *region,
                                      void **cursor, struct ddb_err *err)
{
	(void)dataset;
	(void)region;
	(void)err;
	*cursor = handle;
	return DDB_OK;
}

static enum ddb_status good_scan_next(void *cursor, struct ddb_row *row, struct ddb_err *err)
{
	(void)cursor;
	(void)row;
	(void)err;
	return DDB_NOT_FOUND; /* always empty */
}

static void good_scan_close(void *cursor)
{
	(void)cursor;
}

static const struct ddb_storage_ops good_ops = {
	.open = good_open,
	.close = good_close,
	.reset = good_reset,
	.upsert_product = good_upsert_product,
	.restock = good_restock,
	.place_orders = good_place_orders,
	.outbox_read = good_outbox_read,
	.outbox_mark = good_outbox_mark,
	.outbox_requeue = good_outbox_requeue,
	.put_customers = good_put_customers,
	.get_customer = good_get_customer,
	.find_customers = good_find_customers,
	.apply_events = good_apply_events,
	.sales_report = good_sales_report,
	.put_order_logs = good_put_order_logs,
	.put_components = good_put_components,
	.scan_open = good_scan_open,
	.scan_next = good_scan_next,
	.scan_close = good_scan_close,
};

static const char *const good_settings[] = { "colour", NULL };

static const struct ddb_plugin good_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_STORAGE,
	.name = "good",
	.version = "9.9.9",
	.caps = DDB_ROLE_REGIONAL | DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS,
	.storage = &good_ops,
	.settings = good_settings,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &good_plugin;
}
