/* namecache: remembers the pci.ids names of the devices a host has, so a probe need not parse all
 * of pci.ids (milliseconds) every run. libpci stays the source; the cache is keyed on pci.ids' size
 * and mtime. */
#include "config.h"
#include <errno.h>
#include <pci/config.h>
#include <pci/pci.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "probe/facts.h"
#include "common/paths.h"
#include "common/safefile.h"
#include "probe/namecache.h"

#define CACHE_MAGIC "nestvisor-pci-names 1"

/* libpci looks for pci.ids.gz, then pci.ids (names-parse.c): key on the one it will read. */
const char *probe_namecache_ids(void)
{
	static const char *const candidates[] = { PCI_PATH_IDS_DIR "/" PCI_IDS,
						  PCI_PATH_IDS_DIR "/pci.ids" };

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return candidates[1];
}


void probe_namecache_path(char *buf, size_t len)
{
	paths_cache_file("pci-names", buf, len);
}

static bool key_of(const char *ids, char *key, size_t len)
{
	struct stat st;

	if (stat(ids, &st) < 0)
		return false;
	snprintf(key, len, "%s %s %lld %lld", CACHE_MAGIC, ids, (long long)st.st_size,
		 (long long)st.st_mtime);
	return true;
}

bool probe_namecache_valid(const char *cache, const char *ids)
{
	char key[512], line[512];
	bool ok = false;
	FILE *f;

	if (!cache[0] || !key_of(ids, key, sizeof(key)) || !(f = fopen(cache, "r")))
		return false;
	ok = fgets(line, sizeof(line), f) && !strncmp(line, key, strlen(key)) &&
		line[strlen(key)] == '\n';
	fclose(f);
	return ok;
}

/* A line: "vvvv:dddd:cccc\tvendor\tdevice\tclass". Malformed lines are ignored. */
static bool fill_one(const char *line, struct probe_pci_dev *d)
{
	unsigned v, dev, c;
	char want[16];
	const char *t1, *t2, *t3;

	snprintf(want, sizeof(want), "%04x:%04x:%04x\t", d->vendor, d->device, d->cls);
	if (strncmp(line, want, 15) || sscanf(line, "%4x:%4x:%4x", &v, &dev, &c) != 3)
		return false;
	t1 = line + 15;
	if (!(t2 = strchr(t1, '\t')) || !(t3 = strchr(t2 + 1, '\t')))
		return false;
	snprintf(d->vendor_name, sizeof(d->vendor_name), "%.*s", (int)(t2 - t1), t1);
	snprintf(d->device_name, sizeof(d->device_name), "%.*s", (int)(t3 - t2 - 1), t2 + 1);
	snprintf(d->class_name, sizeof(d->class_name), "%.*s", (int)strcspn(t3 + 1, "\n"), t3 + 1);
	return true;
}

bool probe_namecache_fill(const char *cache, const char *ids, struct probe_pci *pci)
{
	char key[512], line[512];
	int found = 0;
	FILE *f;

	if (!cache[0] || !key_of(ids, key, sizeof(key)) || !(f = fopen(cache, "r")))
		return false;
	if (!fgets(line, sizeof(line), f) || strncmp(line, key, strlen(key)) ||
	    line[strlen(key)] != '\n') {
		fclose(f);
		return false;	/* another pci.ids: stale */
	}
	bool *got = calloc((size_t)(pci->ndevs ? pci->ndevs : 1), sizeof(bool));
	while (got && fgets(line, sizeof(line), f))
		for (int i = 0; i < pci->ndevs; i++)
			if (!got[i] && fill_one(line, &pci->devs[i])) {
				got[i] = true;
				found++;
			}
	free(got);
	fclose(f);
	return found == pci->ndevs;
}

/* Entries of other devices (another host replayed, say) stay, up to a bound: the cache is for a few
 * hosts. */
static void keep_old_entries(const char *cache, const char *key, const struct probe_pci *pci,
			     FILE *out)
{
	char line[512], id[16];
	int kept = 0;
	FILE *f = fopen(cache, "r");

	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && !strncmp(line, key, strlen(key)) &&
	    line[strlen(key)] == '\n') {
		while (fgets(line, sizeof(line), f) && kept < 1024) {
			bool dup = strlen(line) < 16 || line[14] != '\t' || !strchr(line, '\n');
			for (int i = 0; i < pci->ndevs && !dup; i++) {
				snprintf(id, sizeof(id), "%04x:%04x:%04x", pci->devs[i].vendor,
					 pci->devs[i].device, pci->devs[i].cls);
				dup = !strncmp(line, id, 14);
			}
			if (!dup && fputs(line, out) >= 0)
				kept++;
		}
	}
	fclose(f);
}

void probe_namecache_store(const char *cache, const char *ids, const struct probe_pci *pci)
{
	struct safefile_replace r;
	char key[512];
	FILE *f;

	if (!cache[0] || !key_of(ids, key, sizeof(key)) || safefile_replace_begin(cache, &r) < 0)
		return;
	f = r.f;
	fprintf(f, "%s\n", key);
	for (int i = 0; i < pci->ndevs; i++) {
		const struct probe_pci_dev *d = &pci->devs[i];
		fprintf(f, "%04x:%04x:%04x\t%s\t%s\t%s\n", d->vendor, d->device, d->cls,
			d->vendor_name, d->device_name, d->class_name);
	}
	keep_old_entries(cache, key, pci, f);
	safefile_replace_commit(&r, false);	/* atomic: a concurrent probe sees old or new */
}
