/* pq: libpq, loaded when the shared database is first used (dlopen) instead of linked: its
 * dependencies (GnuTLS, Kerberos, LDAP: 22 more libraries) cost every nestvisor process ~5 ms and
 * several MiB at start, the probe and each VMM included, though few runs ever talk to PostgreSQL.
 */
#ifndef NESTVISOR_COMPATDB_PQ_H
#define NESTVISOR_COMPATDB_PQ_H

#include <libpq-fe.h>

/* Every libpq function remote.c calls; the table's members carry libpq's own prototypes. */
#define PQ_FUNCTIONS(X)                                                                           \
	X(PQconnectdbParams)                                                                      \
	X(PQstatus)                                                                               \
	X(PQerrorMessage) X(PQfinish) X(PQexec) X(PQexecParams) X(PQprepare) X(PQsendQueryParams) \
		X(PQsendQueryPrepared) X(PQgetResult) X(PQclear) X(PQresultStatus)                \
			X(PQresultErrorMessage) X(PQntuples) X(PQnfields) X(PQfname) X(PQftype)   \
				X(PQgetvalue) X(PQgetisnull) X(PQenterPipelineMode)               \
					X(PQexitPipelineMode) X(PQpipelineSync) X(PQsendQuery)    \
						X(PQisBusy) X(PQconsumeInput) X(PQsocket)         \
							X(PQsendPrepare) X(PQcmdTuples)

struct pq_api {
#define PQ_MEMBER(f) __typeof__(f) *f;
	PQ_FUNCTIONS(PQ_MEMBER)
#undef PQ_MEMBER
};

/* Filled by pq_load(); read only after it has returned 0. */
extern struct pq_api pq;

/* Loads libpq once ($NESTVISOR_LIBPQ, else libpq.so.5): 0, or -ENOSYS with err saying what to
 * install. */
int pq_load(char *err, size_t errlen);

/* Round trips with a deadline: a server that answers the connection and then nothing more (or a
 * network that stalls without a reset) cannot hang a submit, a fleet question or the TUI's
 * background submit. Each wait for a result gets $NESTVISOR_DB_TIMEOUT seconds (default 30); past
 * it the connection is shut, its calls fail, and pq_error() says so. */
int pq_timeout_s(void);
/* The next result of what was sent, within the deadline: PQgetResult's. */
PGresult *pq_result(PGconn *c);
/* PQexec and PQexecParams, within the deadline: the last result, or NULL. */
PGresult *pq_exec(PGconn *c, const char *sql);
PGresult *pq_exec_params(PGconn *c, const char *sql, int n, const char *const *values);
PGresult *pq_prepare(PGconn *c, const char *name, const char *sql, int n);
/* A connection to the shared database at url (a URI or key=value; keepalives, a 5 s connect
 * timeout), or NULL with err naming it (its password shown as ***). */
PGconn *pq_connect(const char *url, char *err, size_t errlen);
/* A new connection: no deadline has run out on it. */
void pq_deadline_reset(void);
/* What went wrong on c: PQerrorMessage's, or the deadline's own words. */
const char *pq_error(PGconn *c);

#endif
