/*
 * loader.h - finds and loads plugins with dlopen, and checks their
 * descriptor (ABI version, kind, operations) before anything calls them.
 */
#ifndef DDBSIM_LOADER_H
#define DDBSIM_LOADER_H

#include <stddef.h>
#include "ddbsim/plugin.h"

struct plugin {
	char *path;                    /* the file loaded */
	void *dl;                      /* dlopen handle */
	const struct ddb_plugin *desc; /* what its entry point returned */
};

/* Loads plugin `name` (a bare name looked up as NAME.so in each directory of
 * the colon-separated search path, or a path containing '/').  want_kind is
 * DDB_KIND_STORAGE, DDB_KIND_TRANSPORT, or 0 for either.  On error returns
 * NULL and writes a message naming the file to err. */
struct plugin *plugin_load(const char *name, const char *search_path, int want_kind, char *err,
                           size_t errlen);
void plugin_unload(struct plugin *p);

/* Every *.so in the search path that loads as a plugin; calls found() for
 * each, and failed() for each file that does not load (with the message). */
void plugin_scan(const char *search_path, void (*found)(void *ctx, const struct plugin *p),
                 void (*failed)(void *ctx, const char *path, const char *msg), void *ctx);

const char *plugin_kind_name(int kind);
/* "regional,central,documents" for storage caps; "durable" for transport. */
void plugin_caps_string(const struct ddb_plugin *d, char *buf, size_t len);

#endif
