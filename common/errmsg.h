/* errmsg: a failure's message into the caller's buffer, and its -errno back, in one statement:
 * `return errmsg(err, errlen, -EINVAL, "%s: ...", name);` (one statement a line, no comma
 * operator). */
#ifndef NESTVISOR_COMMON_ERRMSG_H
#define NESTVISOR_COMMON_ERRMSG_H

#include <stddef.h>

int errmsg(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
