/* pq: libpq through dlopen, once per process (see pq.h for why). */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compat-db/compatdb.h"
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

static __thread char deadline_why[160];	/* set when a wait ran out, for pq_error() */

int pq_timeout_s(void)
{
	const char *e = getenv("NESTVISOR_DB_TIMEOUT");
	long v = e ? strtol(e, NULL, 10) : 0;

	return v >= 1 && v <= 3600 ? (int)v : 30;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

PGresult *pq_result(PGconn *c)
{
	long long until = now_ms() + 1000LL * pq_timeout_s();

	while (!deadline_why[0] && pq.PQisBusy(c)) {
		struct pollfd p = { pq.PQsocket(c), POLLIN, 0 };
		long long left = until - now_ms();
		int n = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {	/* no answer in time: the connection is of no more use */
			snprintf(deadline_why, sizeof(deadline_why),
				 "the server sent no answer within %d s (NESTVISOR_DB_TIMEOUT): it "
				 "may be stalled or overloaded",
				 pq_timeout_s());
			shutdown(pq.PQsocket(c), SHUT_RDWR);
			break;
		}
		if (n < 0 || !pq.PQconsumeInput(c))
			break;
	}
	return pq.PQgetResult(c);
}

/* Every result of what was just sent; the last one kept, as PQexec keeps it. */
static PGresult *last_result(PGconn *c)
{
	PGresult *r, *last = NULL;

	while ((r = pq_result(c))) {
		pq.PQclear(last);
		last = r;
		if (deadline_why[0])
			break;
	}
	return last;
}

PGresult *pq_exec(PGconn *c, const char *sql)
{
	return deadline_why[0] || !pq.PQsendQuery(c, sql) ? NULL : last_result(c);
}

PGresult *pq_exec_params(PGconn *c, const char *sql, int n, const char *const *values)
{
	if (deadline_why[0] || !pq.PQsendQueryParams(c, sql, n, NULL, values, NULL, NULL, 0))
		return NULL;
	return last_result(c);
}

PGresult *pq_prepare(PGconn *c, const char *name, const char *sql, int n)
{
	if (deadline_why[0] || !pq.PQsendPrepare(c, name, sql, n, NULL))
		return NULL;
	return last_result(c);
}

void pq_deadline_reset(void)
{
	deadline_why[0] = '\0';
}

const char *pq_error(PGconn *c)
{
	return deadline_why[0] ? deadline_why : pq.PQerrorMessage(c);
}

PGconn *pq_connect(const char *url, char *err, size_t errlen)
{
	/* a peer that vanishes without a reset is noticed (keepalives, and data unacknowledged for
	 * 30 s); these come first so that the URL may set its own; connecting has 5 s, and every
	 * round trip after has pq_timeout_s() */
	const char *keys[] = { "keepalives", "keepalives_idle", "keepalives_interval",
			       "keepalives_count", "tcp_user_timeout", "dbname", "connect_timeout",
			       "application_name", NULL };
	const char *vals[] = { "1", "10", "5", "3", "30000", url, "5", "nestvisor", NULL };
	PGconn *c;

	if (pq_load(err, errlen) < 0)
		return NULL;
	pq_deadline_reset();
	c = pq.PQconnectdbParams(keys, vals, 1); /* expand_dbname: url may be a URI or key=value */
	if (pq.PQstatus(c) == CONNECTION_OK)
		return c;
	char shown[1024];
	compatdb_url_shown(url, shown, sizeof(shown));
	snprintf(err, errlen, "could not reach the shared database %s: %s", shown,
		 c ? pq_error(c) : "out of memory");
	err[strcspn(err, "\n")] = '\0';
	pq.PQfinish(c);
	return NULL;
}
