/* paths: where a user's files go (the XDG base directories), the same way for every component. */
#ifndef NESTVISOR_COMMON_PATHS_H
#define NESTVISOR_COMMON_PATHS_H

#include <stddef.h>

/* $var if it is an absolute path (the XDG spec ignores relative ones), else HOME/rel, where HOME is
 * $HOME if absolute, else the user's home in the password database: never the current directory.
 * buf is "" when there is no home at all. e.g. paths_xdg("XDG_CACHE_HOME", ".cache", ...). */
void paths_xdg(const char *var, const char *rel, char *buf, size_t len);
/* Our cache file name: $XDG_CACHE_HOME/nestvisor/NAME (or ~/.cache/...); "" with no home at all. */
void paths_cache_file(const char *name, char *buf, size_t len);

#endif
