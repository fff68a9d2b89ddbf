/*
 * wrongkind.c - a test plugin: a valid transport plugin (complete table of
 * trivial operations), for the tests that ask for a storage plugin and must
 * be refused, and for plugin_scan, which must accept it.
 */
#include <ddbsim/plugin.h>

static int instance;

static enum ddb_status wk_open(const struct ddb_open_args *args, void **handle,
                               struct ddb_err *err)
{
	(void)args;
	(void)err;
	*handle = &instance;
	return DDB_OK;
}

static void wk_close(void *handle)
{
	(void)handle;
}

static enum ddb_status wk_reset(void *handle, struct ddb_err *err)
{
	(void)handle;
	(void)err;
	return DDB_OK;
}

static enum ddb_status wk_declare(void *handle, const char *queue, struct ddb_err *err)
{
	(void)handle;
	(void)queue;
	(void)err;
	return DDB_OK;
}

static enum ddb_status wk_publish(void *handle, const char *queue, const void *body, size_t len,
                                  struct ddb_err *err)
{
	(void)handle;
	(void)queue;
	(void)body;
	(void)len;
	(void)err;
	return DDB_OK;
}

static enum ddb_status wk_confirm(void *handle, struct ddb_err *err)
{
	(void)handle;
	(void)err;
	return DDB_OK;
}

static enum ddb_status wk_receive(void *handle, const char *queue, struct ddb_delivery *out,
                                  size_t max, size_t *n_out, struct ddb_err *err)
{
	(void)handle;
	(void)queue;
	(void)out;
	(void)max;
	(void)err;
	*n_out = 0;
	return DDB_OK;
}

static enum ddb_status wk_ack(void *handle, const char *queue, uint64_t tag,
                              struct ddb_err *err)
{
	(void)handle;
	(void)queue;
	(void)tag;
	(void)err;
	return DDB_OK;
}

static enum ddb_status wk_reject(void *handle, const char *queue, uint64_t tag, int requeue,
                                 struct ddb_err *err)
{
	(void)handle;
	(void)queue;
	(void)tag;
	(void)requeue;
	(void)err;
	return DDB_OK;
}

static enum ddb_status wk_recover(void *handle, const char *queue, struct ddb_err *err)
{
	(void)handle;
	(void)queue;
	(void)err;
	return DDB_OK;
}

static enum ddb_status wk_depth(void *handle, const char *queue, uint64_t *ready,
                                uint64_t *unacked, struct ddb_err *err)
{
	(void)handle;
	(void)queue;
	(void)err;
	*ready = 0;
	*unacked = 0;
	return DDB_OK;
}

static const struct ddb_transport_ops wk_ops = {
	.open = wk_open,
	.close = wk_close,
	.reset = wk_reset,
	.declare = wk_declare,
	.publish = wk_publish,
	.confirm = wk_confirm,
	.receive = wk_receive,
	.ack = wk_ack,
	.reject = wk_reject,
	.recover = wk_recover,
	.depth = wk_depth,
};

static const struct ddb_plugin wk_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_TRANSPORT,
	.name = "wrongkind",
	.version = "0.1",
	.caps = DDB_TRANSPORT_DURABLE,
	.transport = &wk_ops,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &wk_plugin;
}
