/*
 * badabi.c - a test plugin built for an ABI version this ddbsim does not
 * have (DDB_PLUGIN_ABI + 41).  Everything else about it is right, so the ABI
 * version is the only reason for the loader to refuse it.
 */
#include <ddbsim/plugin.h>

static enum ddb_status badabi_open(const struct ddb_open_args *args, void **handle,
                                   struct ddb_err *err)
{
	(void)args;
	(void)err;
	*handle = 0;
	return DDB_OK;
}

static void badabi_close(void *handle)
{
	(void)handle;
}

static enum ddb_status badabi_reset(void *handle, struct ddb_err *err)
{
	(void)handle;
	(void)err;
	return DDB_OK;
}

static enum ddb_status badabi_scan_open(void *handle, int dataset, const char *region,
                                        void **cursor, struct ddb_err *err)
{
	(void)dataset;
	(void)region;
	(void)err;
	*cursor = handle;
	return DDB_OK;
}

static enum ddb_status badabi_scan_next(void *cursor, struct ddb_row *row, struct ddb_err *err)
{
	(void)cursor;
	(void)row;
	(void)err;
	return DDB_NOT_FOUND;
}

static void badabi_scan_close(void *cursor)
{
	(void)cursor;
}

/* No roles: only the operations every storage plugin has are needed. */
static const struct ddb_storage_ops badabi_ops = {
	.open = badabi_open,
	.close = badabi_close,
	.reset = badabi_reset,
	.scan_open = badabi_scan_open,
	.scan_next = badabi_scan_next,
	.scan_close = badabi_scan_close,
};

static const struct ddb_plugin badabi_plugin = {
	.abi = DDB_PLUGIN_ABI + 41,
	.kind = DDB_KIND_STORAGE,
	.name = "badabi",
	.version = "1.0",
	.caps = 0,
	.storage = &badabi_ops,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &badabi_plugin;
}
