/*
 * nosym.c - a test plugin that does not export ddbsim_plugin_entry: its
 * author misspelled the entry point.  It loads with dlopen (it exports a
 * function), but the loader must refuse it for the missing symbol.
 */
#include <ddbsim/plugin.h>

static const struct ddb_plugin nosym_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_STORAGE,
	.name = "nosym",
	.version = "1.0",
};

const struct ddb_plugin *ddbsim_plugin_entrypoint(void);

const struct ddb_plugin *ddbsim_plugin_entrypoint(void)
{
	return &nosym_plugin;
}
