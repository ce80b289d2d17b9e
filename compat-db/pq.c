/* pq: libpq through dlopen, once per process (see pq.h for why). */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include "compat-db/pq.h"

struct pq_api pq;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[512];		/* why it could not be loaded */
static bool loaded;

static void pq_open(void)
{
	const char *lib = getenv("NESTVISOR_LIBPQ");
	void *h;

	if (!lib || !*lib)
		lib = "libpq.so.5";
	if (!(h = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(why, sizeof(why),
			 "the shared database needs PostgreSQL's client library, which could not "
			 "be loaded (%s): apt-get install libpq5",
			 dlerror());
		return;
	}
#define PQ_RESOLVE(f)                                                                           \
	if (!(*(void **)&pq.f = dlsym(h, #f))) {                                                \
		snprintf(why, sizeof(why),                                                      \
			 "%s has no %s: the shared database needs libpq 14 or newer", lib, #f); \
		return;                                                                         \
	}
	PQ_FUNCTIONS(PQ_RESOLVE)
#undef PQ_RESOLVE
	loaded = true;
}

int pq_load(char *err, size_t errlen)
{
	pthread_once(&once, pq_open);	/* which orders what pq_open wrote before what follows */
	if (loaded)
		return 0;
	snprintf(err, errlen, "%s", why);
	return -ENOSYS;
}
