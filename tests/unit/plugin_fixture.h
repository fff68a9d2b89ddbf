/*
 * plugin_fixture.h - what the backend-agnostic conformance suites
 * (test_storage, test_transport) share: removing a scratch directory, and
 * reading a plugin's extra open options from an environment variable.
 */
#ifndef DDBSIM_PLUGIN_FIXTURE_H
#define DDBSIM_PLUGIN_FIXTURE_H

#include <stddef.h>
#include "ddbsim/plugin.h"

/* rm -rf path */
void fixture_remove_tree(const char *path);

/* The "k=v;k=v" in the environment variable env, as options: *buf holds the
 * strings (free it, and *options, when done).  Unset or empty: no options.
 * -1 on a malformed item, with a message naming env on stderr. */
int fixture_options(const char *env, char **buf, struct ddb_option **options, size_t *n);

#endif
