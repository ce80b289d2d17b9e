/* parts: an image's partitions (GPT, MBR with its logical partitions) and what each holds, through
 * libblkid probing the image's open descriptor, one byte range at a time. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <blkid/blkid.h>
#include "imgboot/imgboot-int.h"

static void value(blkid_probe pr, const char *name, char *out, size_t len)
{
	const char *v = NULL;

	out[0] = 0;
	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(out, len, "%s", v);
}

/* what the range [off, off + size) holds: its superblock's type, UUID and label */
static void probe_range(int fd, struct volume *v)
{
	blkid_probe pr = blkid_new_probe();

	v->type[0] = v->uuid[0] = v->label[0] = 0;
	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)v->off, (blkid_loff_t)v->size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
							      BLKID_SUBLKS_LABEL);
		blkid_probe_enable_partitions(pr, 0);
		if (blkid_do_safeprobe(pr) == 0) {
			value(pr, "TYPE", v->type, sizeof(v->type));
			value(pr, "UUID", v->uuid, sizeof(v->uuid));
			value(pr, "LABEL", v->label, sizeof(v->label));
		}
	}
	blkid_free_probe(pr);
}

int parts_scan(int fd, uint64_t size, struct volume *v, int max, char *pttype, size_t ptlen,
	       char *err, size_t errlen)
{
	blkid_probe pr = blkid_new_probe();
	int n = 0;

	pttype[0] = 0;
	if (!pr || blkid_probe_set_device(pr, fd, 0, (blkid_loff_t)size) < 0) {
		if (pr)
			blkid_free_probe(pr);
		snprintf(err, errlen, "its partitions could not be probed");
		return -EIO;
	}
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	blkid_partlist ls = blkid_do_safeprobe(pr) == 0 ? blkid_probe_get_partitions(pr) : NULL;
	blkid_parttable tab = ls ? blkid_partlist_get_table(ls) : NULL;
	if (tab && blkid_parttable_get_type(tab))
		snprintf(pttype, ptlen, "%s", blkid_parttable_get_type(tab));
	int np = ls ? blkid_partlist_numof_partitions(ls) : 0;
	for (int i = 0; i < np && n < max; i++) {
		blkid_partition p = blkid_partlist_get_partition(ls, i);
		long long start = p ? blkid_partition_get_start(p) : -1;
		long long len = p ? blkid_partition_get_size(p) : -1;
		/* an extended partition's container, or one that lies outside the image */
		if (start < 0 || len <= 0 || blkid_partition_is_extended(p) ||
		    (uint64_t)start > size / 512 || (uint64_t)len > size / 512 - (uint64_t)start)
			continue;
		v[n] = (struct volume){ .partno = blkid_partition_get_partno(p),
					.off = (uint64_t)start * 512,
					.size = (uint64_t)len * 512 };
		const char *pu = blkid_partition_get_uuid(p);
		snprintf(v[n].partuuid, sizeof(v[n].partuuid), "%s", pu ? pu : "");
		probe_range(fd, &v[n]);
		n++;
	}
	blkid_free_probe(pr);
	if (n == 0 && !pttype[0]) {	/* a filesystem on the whole image */
		v[0] = (struct volume){ .partno = 0, .off = 0, .size = size };
		probe_range(fd, &v[0]);
		n = 1;
	}
	return n;
}
