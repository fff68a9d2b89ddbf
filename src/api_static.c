/*
 * api_static.c - the web page of `ddbsim serve`: a FIXED list of files
 * (the page, its script and style, the chart library and its license),
 * each read into memory once when the server starts and served from there.
 * No part of a request's path ever reaches the filesystem: a path is only
 * compared with the list.  The page's own files come from $DDBSIM_WWWDIR
 * (the source tree, for tests) or else the installed $(pkgdatadir)/www;
 * the chart library from the directory configure found (Debian's
 * libjs-dygraphs), $DDBSIM_DYGRAPHSDIR overriding it, and its license
 * notice from the file configure found.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_read.h"
#include "util.h"

#ifndef DDBSIM_WWWDIR
#define DDBSIM_WWWDIR "/usr/local/share/ddbsim/www"
#endif
/* Where configure found the chart library and its license (DYGRAPHS_DIR,
 * DYGRAPHS_LICENSE, as for the HTML report). */
#ifndef DYGRAPHS_DIR
#define DYGRAPHS_DIR "/usr/share/javascript/dygraphs"
#endif
#ifndef DYGRAPHS_LICENSE
#define DYGRAPHS_LICENSE "/usr/share/doc/libjs-dygraphs/copyright"
#endif

/* No file of the page is larger; a larger one is refused, not truncated. */
#define STATIC_FILE_MAX (4 * 1024 * 1024)

enum static_dir { FROM_WWW, FROM_DYGRAPHS, FROM_ABSOLUTE };

struct static_file {
	const char *url;
	enum static_dir dir;
	const char *name;
	const char *content_type;
};

static const struct static_file static_files[] = {
	{ "/", FROM_WWW, "index.html", "text/html; charset=utf-8" },
	{ "/index.html", FROM_WWW, "index.html", "text/html; charset=utf-8" },
	{ "/app.js", FROM_WWW, "app.js", "text/javascript; charset=utf-8" },
	{ "/app.css", FROM_WWW, "app.css", "text/css; charset=utf-8" },
	{ "/dygraph.min.js", FROM_DYGRAPHS, "dygraph.min.js", "text/javascript; charset=utf-8" },
	{ "/dygraph.min.css", FROM_DYGRAPHS, "dygraph.min.css", "text/css; charset=utf-8" },
	{ "/LICENSE-dygraphs", FROM_ABSOLUTE, DYGRAPHS_LICENSE,
	  "text/plain; charset=utf-8" },
};

/* One file in memory, or why it is not there. */
struct static_loaded {
	char *body;
	size_t len;
	char error[512];
};

struct api_static {
	struct static_loaded files[ARRAY_LEN(static_files)];
};

static const char *dir_of(enum static_dir d)
{
	const char *env = getenv(d == FROM_WWW ? "DDBSIM_WWWDIR" : "DDBSIM_DYGRAPHSDIR");
	if (env && *env)
		return env;
	return d == FROM_WWW ? DDBSIM_WWWDIR : DYGRAPHS_DIR;
}

/* Reads path whole (at most STATIC_FILE_MAX bytes) into f. */
static void load_file(struct static_loaded *f, const char *path)
{
	file_read_whole(path, STATIC_FILE_MAX, &f->body, &f->len, f->error, sizeof f->error);
}

struct api_static *api_static_load(void)
{
	struct api_static *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(static_files); i++) {
		const struct static_file *sf = &static_files[i];
		char path[4096];
		if (sf->dir == FROM_ABSOLUTE)
			copy_str(path, sizeof path, sf->name);
		else
			snprintf(path, sizeof path, "%s/%s", dir_of(sf->dir), sf->name);
		load_file(&s->files[i], path);
	}
	return s;
}

void api_static_free(struct api_static *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < ARRAY_LEN(static_files); i++)
		free(s->files[i].body);
	free(s);
}

int api_static_known(const char *path)
{
	for (size_t i = 0; i < ARRAY_LEN(static_files); i++)
		if (strcmp(static_files[i].url, path) == 0)
			return 1;
	return 0;
}

int api_static_public(const char *method, const char *path)
{
	return (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
	       api_static_known(path);
}

enum http_outcome api_static_get(struct api *a, struct http_request *r)
{
	const char *method = http_method(r), *path = http_path(r);
	size_t i = 0;
	while (i < ARRAY_LEN(static_files) && strcmp(static_files[i].url, path) != 0)
		i++;
	if (i == ARRAY_LEN(static_files))
		return api_error(r, 404, NULL, "no such file: %s", path);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return api_error(r, 405, NULL, "%s is not allowed on %s", method, path);
	const struct static_loaded *f = a->statics ? &a->statics->files[i] : NULL;
	if (!f || !f->body)
		return api_error(r, 503, NULL, "the page's file is missing: %s",
		                 f ? f->error : "out of memory");
	/* (The server adds Cache-Control: no-store and nosniff to every reply.) */
	http_reply_header(r, "Content-Security-Policy",
	                  "default-src 'self'; img-src 'self' data:; object-src 'none'; "
	                  /* dygraphs sets inline styles on the elements it makes */
	                  "style-src 'self' 'unsafe-inline'; "
	                  "base-uri 'none'; frame-ancestors 'none'; form-action 'none'");
	http_reply_header(r, "Referrer-Policy", "no-referrer");
	http_reply(r, 200, static_files[i].content_type, f->body, f->len);
	return HTTP_DONE;
}
