/* namecache: remembers the pci.ids names of the devices a host has, so a probe need not parse all
 * of pci.ids (milliseconds) every run. libpci stays the source; the cache is keyed on pci.ids' size
 * and mtime. */
#ifndef NESTVISOR_PROBE_NAMECACHE_H
#define NESTVISOR_PROBE_NAMECACHE_H

#include <stdbool.h>
#include <stddef.h>

struct probe_pci;

/* Fills every device's names from the cache file; true only when all were found (and the cache is
 * for the pci.ids on this machine). */
bool probe_namecache_fill(const char *cache, const char *ids, struct probe_pci *pci);
/* Writes the devices' names (after libpci named them). Best effort: a cache that cannot be written
 * only costs time. */
void probe_namecache_store(const char *cache, const char *ids, const struct probe_pci *pci);
/* $XDG_CACHE_HOME/nestvisor/pci-names, or ~/.cache/...; "" when neither is set. */
void probe_namecache_path(char *buf, size_t len);
/* Whether the cache was written for this pci.ids (cheap: its first line). */
bool probe_namecache_valid(const char *cache, const char *ids);
/* The file libpci reads names from. */
const char *probe_namecache_ids(void);

#endif
