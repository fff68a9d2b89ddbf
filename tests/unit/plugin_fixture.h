/*
 * plugin_fixture.h - what the backend-agnostic conformance suites
 * (test_storage, test_transport) and the per-plugin suites (test_sqlite,
 * test_memory) share: loading a plugin, making and removing a scratch
 * directory, and
 * reading a plugin's extra open options from an environment variable.
 */
#ifndef DDBSIM_PLUGIN_FIXTURE_H
#define DDBSIM_PLUGIN_FIXTURE_H

#include <stddef.h>
#include "ddbsim/plugin.h"

struct plugin;

/* rm -rf path */
void fixture_remove_tree(const char *path);

/* The plugin NAME of kind want_kind, from $DDBSIM_PLUGIN_DIR; NULL with a
 * message on stderr. */
struct plugin *fixture_load_plugin(const char *name, int want_kind);

/* A new scratch directory $TMPDIR/ddbsim-NAME-XXXXXX (else in /tmp) into
 * dir; -1 with a message on stderr (dir is then empty). */
int fixture_make_dir(const char *name, char *dir, size_t size);

/* The "k=v;k=v" in the environment variable env, as options: *buf holds the
 * strings (free it, and *options, when done).  Unset or empty: no options.
 * -1 on a malformed item, with a message naming env on stderr. */
int fixture_options(const char *env, char **buf, struct ddb_option **options, size_t *n);

/* Assertions for cmocka tests of plugin operations (include <cmocka.h>
 * first).  In CHECK(...) and the EXPECT_STATUS(...) forms the operation's
 * err argument is written &e_. */
#define CHECK(call)                                                                       \
	do {                                                                              \
		struct ddb_err e_ = { "" };                                               \
		enum ddb_status st_ = (call);                                             \
		if (st_ != DDB_OK)                                                        \
			fail_msg("%s -> %s: %s", #call, ddb_status_name(st_), e_.msg);    \
	} while (0)

/* The call answers want, and its message names `needle` ("": any). */
#define EXPECT_STATUS_NAMING(want, needle, call)                                          \
	do {                                                                              \
		struct ddb_err e_ = { "" };                                               \
		enum ddb_status st_ = (call);                                             \
		if (st_ != (want))                                                        \
			fail_msg("%s -> %s (%s), want %s", #call, ddb_status_name(st_),   \
			         e_.msg, ddb_status_name(want));                          \
		if (!strstr(e_.msg, (needle)))                                            \
			fail_msg("%s: message '%s' does not name '%s'", #call, e_.msg,    \
			         (needle));                                               \
	} while (0)

#define EXPECT_STATUS(want, call) EXPECT_STATUS_NAMING(want, "", call)

/* got, a status already returned, must be want. */
#define assert_status(want, got)                                                          \
	do {                                                                              \
		enum ddb_status w_ = (want), g_ = (got);                                  \
		if (w_ != g_)                                                             \
			fail_msg("%s is %s, want %s", #got, ddb_status_name(g_),          \
			         ddb_status_name(w_));                                    \
	} while (0)

#endif
