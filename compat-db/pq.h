/* pq: libpq, loaded when the shared database is first used (dlopen) instead of linked: its
 * dependencies (GnuTLS, Kerberos, LDAP: 22 more libraries) cost every nestvisor process ~5 ms and
 * several MiB at start, the probe and each VMM included, though few runs ever talk to PostgreSQL.
 */
#ifndef NESTVISOR_COMPATDB_PQ_H
#define NESTVISOR_COMPATDB_PQ_H

#include <libpq-fe.h>

/* Every libpq function remote.c calls; the table's members carry libpq's own prototypes. */
#define PQ_FUNCTIONS(X)                                                                     \
	X(PQconnectdbParams)                                                                \
	X(PQstatus) X(PQerrorMessage) X(PQfinish) X(PQexec) X(PQexecParams) X(PQprepare)    \
		X(PQsendQueryParams) X(PQsendQueryPrepared) X(PQgetResult) X(PQclear)       \
			X(PQresultStatus) X(PQresultErrorMessage) X(PQntuples) X(PQnfields) \
				X(PQfname) X(PQftype) X(PQgetvalue) X(PQgetisnull)          \
					X(PQenterPipelineMode) X(PQexitPipelineMode)        \
						X(PQpipelineSync)

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

#endif
