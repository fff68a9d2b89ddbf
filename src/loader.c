/*
 * loader.c - finds plugin files, dlopens them and checks their descriptor.
 *
 * Nothing is called in a plugin before its descriptor has passed every check
 * here: right ABI version, a known kind, the kind asked for, and a complete
 * table of operations.  Every error names the file.
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *plugin_kind_name(int kind)
{
	switch (kind) {
	case DDB_KIND_STORAGE: return "storage";
	case DDB_KIND_TRANSPORT: return "transport";
	}
	return "unknown";
}

void plugin_caps_string(const struct ddb_plugin *d, char *buf, size_t len)
{
	static const struct {
		int kind;
		unsigned bit;
		const char *name;
	} caps[] = {
		{ DDB_KIND_STORAGE, DDB_ROLE_REGIONAL, "regional" },
		{ DDB_KIND_STORAGE, DDB_ROLE_CENTRAL, "central" },
		{ DDB_KIND_STORAGE, DDB_ROLE_DOCUMENTS, "documents" },
		{ DDB_KIND_TRANSPORT, DDB_TRANSPORT_DURABLE, "durable" },
	};
	size_t used = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		if (caps[i].kind != d->kind || !(d->caps & caps[i].bit))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", caps[i].name);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* whole names only */
			return;
		}
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "-");
}

/* Every operation of the table the descriptor's kind requires, or the name
 * of the first one missing. */
static const char *missing_operation(const struct ddb_plugin *d)
{
#define NEED(table, op)                                                                  \
	do {                                                                             \
		if (!(table)->op)                                                        \
			return #op;                                                      \
	} while (0)
	if (d->kind == DDB_KIND_STORAGE) {
		const struct ddb_storage_ops *s = d->storage;
		if (!s)
			return "storage operations table";
		NEED(s, open);
		NEED(s, close);
		NEED(s, reset);
		NEED(s, scan_open);
		NEED(s, scan_next);
		NEED(s, scan_close);
		if (d->caps & DDB_ROLE_REGIONAL) {
			NEED(s, upsert_product);
			NEED(s, restock);
			NEED(s, place_orders);
			NEED(s, outbox_read);
			NEED(s, outbox_mark);
			NEED(s, outbox_requeue);
			NEED(s, put_customers);
			NEED(s, get_customer);
			NEED(s, find_customers);
		}
		if (d->caps & DDB_ROLE_CENTRAL) {
			NEED(s, apply_events);
			NEED(s, sales_report);
		}
		if (d->caps & DDB_ROLE_DOCUMENTS) {
			NEED(s, put_order_logs);
			NEED(s, put_components);
		}
	} else {
		const struct ddb_transport_ops *t = d->transport;
		if (!t)
			return "transport operations table";
		NEED(t, open);
		NEED(t, close);
		NEED(t, reset);
		NEED(t, declare);
		NEED(t, publish);
		NEED(t, confirm);
		NEED(t, receive);
		NEED(t, ack);
		NEED(t, reject);
		NEED(t, recover);
		NEED(t, depth);
	}
	return NULL;
#undef NEED
}

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file for plugin `name`: name itself when it holds a '/', else the
 * first DIR/NAME.so of the search path.  NULL when there is none. */
static char *resolve(const char *name, const char *search_path)
{
	if (strchr(name, '/'))
		return strdup(name);
	const char *p = search_path ? search_path : "";
	while (*p) {
		size_t dirlen = strcspn(p, ":");
		if (dirlen > 0) {
			size_t len = dirlen + 1 + strlen(name) + 4;
			char *path = malloc(len);
			if (!path)
				return NULL;
			snprintf(path, len, "%.*s/%s.so", (int)dirlen, p, name);
			if (file_exists(path))
				return path;
			free(path);
		}
		p += dirlen;
		if (*p == ':')
			p++;
	}
	return NULL;
}

static struct plugin *load_file(const char *path, int want_kind, char *err, size_t errlen)
{
	if (!file_exists(path)) {
		fail(err, errlen, "%s: plugin file not found", path);
		return NULL;
	}
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fail(err, errlen, "%s: cannot load plugin: %s", path, dlerror());
		return NULL;
	}
	ddb_plugin_entry_fn entry;
	void *sym = dlsym(dl, DDB_PLUGIN_ENTRY_SYMBOL);
	if (!sym) {
		fail(err, errlen, "%s: not a ddbsim plugin: no symbol %s", path,
		     DDB_PLUGIN_ENTRY_SYMBOL);
		dlclose(dl);
		return NULL;
	}
	memcpy(&entry, &sym, sizeof entry);
	const struct ddb_plugin *d = entry();
	const char *missing;
	if (!d) {
		fail(err, errlen, "%s: %s returned no descriptor", path, DDB_PLUGIN_ENTRY_SYMBOL);
	} else if (d->abi != DDB_PLUGIN_ABI) {
		fail(err, errlen, "%s: plugin ABI version %d, but this ddbsim has ABI version %d: rebuild the plugin",
		     path, d->abi, DDB_PLUGIN_ABI);
	} else if (d->kind != DDB_KIND_STORAGE && d->kind != DDB_KIND_TRANSPORT) {
		fail(err, errlen, "%s: unknown plugin kind %d", path, d->kind);
	} else if (want_kind && d->kind != want_kind) {
		fail(err, errlen, "%s: plugin '%s' is a %s plugin, a %s plugin is needed here", path,
		     d->name ? d->name : "?", plugin_kind_name(d->kind), plugin_kind_name(want_kind));
	} else if (!d->name || !d->version) {
		fail(err, errlen, "%s: descriptor has no name or version", path);
	} else if ((missing = missing_operation(d)) != NULL) {
		fail(err, errlen, "%s: plugin '%s' lacks the operation %s", path, d->name, missing);
	} else {
		struct plugin *p = calloc(1, sizeof *p);
		if (p && (p->path = strdup(path)) != NULL) {
			p->dl = dl;
			p->desc = d;
			return p;
		}
		free(p);
		fail(err, errlen, "%s: out of memory", path);
	}
	dlclose(dl);
	return NULL;
}

struct plugin *plugin_load(const char *name, const char *search_path, int want_kind, char *err,
                           size_t errlen)
{
	if (!name || !*name) {
		fail(err, errlen, "no plugin name given");
		return NULL;
	}
	char *path = resolve(name, search_path);
	if (!path) {
		fail(err, errlen, "%s.so: plugin '%s' not found in %s", name, name,
		     search_path && *search_path ? search_path : "(empty plugin path)");
		return NULL;
	}
	struct plugin *p = load_file(path, want_kind, err, errlen);
	free(path);
	return p;
}

void plugin_unload(struct plugin *p)
{
	if (!p)
		return;
	/* Under AddressSanitizer keep the module mapped, so that leak reports
	 * can still name its functions. */
#ifndef DDBSIM_KEEP_PLUGINS_LOADED
	dlclose(p->dl);
#endif
	free(p->path);
	free(p);
}

static int has_so_suffix(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void plugin_scan(const char *search_path, void (*found)(void *ctx, const struct plugin *p),
                 void (*failed)(void *ctx, const char *path, const char *msg), void *ctx)
{
	const char *p = search_path ? search_path : "";
	while (*p) {
		size_t dirlen = strcspn(p, ":");
		char dir[4096];
		snprintf(dir, sizeof dir, "%.*s", (int)dirlen, p);
		p += dirlen;
		if (*p == ':')
			p++;
		DIR *d = dirlen ? opendir(dir) : NULL;
		if (!d)
			continue;
		char **names = NULL;
		size_t n = 0, cap = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (!has_so_suffix(e->d_name))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				char **grown = realloc(names, cap * sizeof *names);
				if (!grown)
					break;
				names = grown;
			}
			if ((names[n] = strdup(e->d_name)) != NULL)
				n++;
		}
		closedir(d);
		if (n > 1) /* names is NULL when the directory has no *.so */
			qsort(names, n, sizeof *names, compare_names);
		for (size_t i = 0; i < n; i++) {
			char path[8192], err[512];
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			struct plugin *pl = load_file(path, 0, err, sizeof err);
			if (pl) {
				if (found)
					found(ctx, pl);
				plugin_unload(pl);
			} else if (failed) {
				failed(ctx, path, err);
			}
			free(names[i]);
		}
		free(names);
	}
}
