/* crashpoint: LD_PRELOAD'ed by the fault tests only, never linked into nestvisor. It kills the
 * process for real (SIGKILL, as a power cut or kill -9 would) at the one point a test names in
 * NV_CRASH_AT, so the code that ships carries no fault injection: commit   sqlite3_exec of COMMIT
 * (an import's transaction, its report all written, not yet committed) mark     the step of the
 * statement that marks a report submitted (after the shared database committed it) */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int at(const char *what)
{
	const char *e = getenv("NV_CRASH_AT");
	return e && !strcmp(e, what);
}

int sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **), void *arg,
		 char **errmsg)
{
	static int (*real)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *,
			   char **);

	if (at("commit") && sql && !strncmp(sql, "COMMIT", 6))
		raise(SIGKILL);
	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT, "sqlite3_exec");
	return real(db, sql, cb, arg, errmsg);
}

int sqlite3_step(sqlite3_stmt *st)
{
	static int (*real)(sqlite3_stmt *);
	const char *sql = sqlite3_sql(st);

	if (at("mark") && sql && strstr(sql, "SET submitted"))
		raise(SIGKILL);
	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT, "sqlite3_step");
	return real(st);
}
