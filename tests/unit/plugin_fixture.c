/*
 * plugin_fixture.c - helpers of the conformance suites (see the header).
 */
#include "plugin_fixture.h"
#include "loader.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fixture_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				char sub[4096];
				snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
				fixture_remove_tree(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

int fixture_options(const char *env, char **buf, struct ddb_option **options, size_t *n)
{
	const char *spec = getenv(env);
	*buf = NULL;
	*options = NULL;
	*n = 0;
	if (!spec || !*spec)
		return 0;
	*buf = strdup(spec);
	size_t cap = 1;
	for (const char *p = spec; *p; p++)
		cap += *p == ';';
	*options = calloc(cap, sizeof **options);
	if (!*buf || !*options)
		return -1;
	char *save = NULL;
	for (char *item = strtok_r(*buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		item = trim(item);
		if (!*item)
			continue;
		char *eq = strchr(item, '=');
		if (!eq) {
			fprintf(stderr, "%s: '%s' is not key=value\n", env, item);
			return -1;
		}
		*eq = '\0';
		(*options)[*n].key = trim(item);
		(*options)[*n].value = trim(eq + 1);
		(*n)++;
	}
	return 0;
}

struct plugin *fixture_load_plugin(const char *name, int want_kind)
{
	char err[512];
	struct plugin *p = plugin_load(name, getenv("DDBSIM_PLUGIN_DIR"), want_kind, err, sizeof err);
	if (!p)
		fprintf(stderr, "cannot load plugin '%s': %s\n", name, err);
	return p;
}

int fixture_make_dir(const char *name, char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, size, "%s/ddbsim-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
		dir[0] = '\0';
		return -1;
	}
	return 0;
}
