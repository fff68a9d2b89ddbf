/*
 * noops.c - a test plugin: a storage plugin that declares the regional role
 * but leaves place_orders out of its table.  The loader must refuse it,
 * naming the missing operation, before anything calls it.
 */
#include <ddbsim/plugin.h>

static enum ddb_status noops_open(const struct ddb_open_args *args, void **handle,
                                  struct ddb_err *err)
{
	(void)args;
	(void)err;
	*handle = 0;
	return DDB_OK;
}

static void noops_close(void *handle)
{
	(void)handle;
}

static enum ddb_status noops_status(void *handle, struct ddb_err *err)
{
	(void)handle;
	(void)err;
	return DDB_OK;
}

static enum ddb_status noops_upsert_product(void *handle, const struct ddb_product *product,
                                            int64_t now_us, struct ddb_err *err)
{
	(void)handle;
	(void)product;
	(void)now_us;
	(void)err;
	return DDB_OK;
}

static enum ddb_status noops_restock(void *handle, const char *sku, int64_t quantity,
                                     struct ddb_err *err)
{
	(void)handle;
	(void)sku;
	(void)quantity;
	(void)err;
	return DDB_OK;
}

static enum ddb_status noops_outbox_read(void *handle, int64_t after_seq, int want_state,
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

static enum ddb_status noops_outbox_mark(void *handle, const int64_t *seqs, size_t n, int state,
                                         struct ddb_err *err)
{
	(void)handle;
	(void)seqs;
	(void)n;
	(void)state;
	(void)err;
	return DDB_OK;
}

static enum ddb_status noops_scan_open(void *handle, int dataset, const char *region,
                                       void **cursor, struct ddb_err *err)
{
	(void)dataset;
	(void)region;
	(void)err;
	*cursor = handle;
	return DDB_OK;
}

static enum ddb_status noops_scan_next(void *cursor, struct ddb_row *row, struct ddb_err *err)
{
	(void)cursor;
	(void)row;
	(void)err;
	return DDB_NOT_FOUND;
}

static void noops_scan_close(void *cursor)
{
	(void)cursor;
}

static const struct ddb_storage_ops noops_ops = {
	.open = noops_open,
	.close = noops_close,
	.reset = noops_status,
	.upsert_product = noops_upsert_product,
	.restock = noops_restock,
	/* .place_orders is missing */
	.outbox_read = noops_outbox_read,
	.outbox_mark = noops_outbox_mark,
	.outbox_requeue = noops_status,
	.scan_open = noops_scan_open,
	.scan_next = noops_scan_next,
	.scan_close = noops_scan_close,
};

static const struct ddb_plugin noops_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_STORAGE,
	.name = "noops",
	.version = "1.0",
	.caps = DDB_ROLE_REGIONAL,
	.storage = &noops_ops,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &noops_plugin;
}
