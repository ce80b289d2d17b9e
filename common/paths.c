/* paths: XDG base directories with a home that is never ".". */
#include "config.h"
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "common/paths.h"

void paths_xdg(const char *var, const char *rel, char *buf, size_t len)
{
	const char *v = getenv(var), *home = getenv("HOME");
	struct passwd *pw;

	if (v && *v == '/') {
		snprintf(buf, len, "%s", v);
		return;
	}
	if (!home || *home != '/')
		home = (pw = getpwuid(geteuid())) && pw->pw_dir && *pw->pw_dir == '/' ?
			pw->pw_dir : NULL;
	if (home)
		snprintf(buf, len, "%s/%s", home, rel);
	else if (len)
		buf[0] = '\0';
}

void paths_cache_file(const char *name, char *buf, size_t len)
{
	char base[4000];

	paths_xdg("XDG_CACHE_HOME", ".cache", base, sizeof(base));
	if (base[0])
		snprintf(buf, len, "%s/nestvisor/%s", base, name);
	else if (len)
		buf[0] = '\0';
}
