/* inspect: where an image's kernel is and how it boots, as its own boot loader would find it:
 * GRUB's grub.cfg (its default entry) on any ext2/3/4 volume, else Boot Loader Specification
 * entries (the newest), else Debian's /vmlinuz and /initrd.img links or the newest
 * /boot/vmlinuz-VERSION. A volume nestvisor cannot read is named with what to do, never guessed
 * past. Runs in the reader. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include "imgboot/bootcfg.h"
#include "imgboot/imgboot-int.h"

#define CFG_MAX (BOOTCFG_MAX_TEXT + 1)

struct search {
	int fd;
	const char *image;
	struct volume v[PARTS_MAX];
	struct extfs *fs[PARTS_MAX];
	int n;
};

static bool is_ext(const struct volume *v)
{
	return !strcmp(v->type, "ext2") || !strcmp(v->type, "ext3") || !strcmp(v->type, "ext4");
}

static struct extfs *fs_of(struct search *s, int i, char *err, size_t errlen)
{
	if (!s->fs[i] && is_ext(&s->v[i]) &&
	    extfs_open(s->fd, s->v[i].off, s->v[i].size, &s->fs[i], err, errlen) < 0)
		s->fs[i] = NULL;
	return s->fs[i];
}

static void where(const struct search *s, int i, char *out, size_t len)
{
	if (s->v[i].partno)
		snprintf(out, len, "partition %d (%s)", s->v[i].partno, s->v[i].type);
	else
		snprintf(out, len, "its %s filesystem", s->v[i].type);
}

/* The volume an entry's files are on: the one its search names, the partition its root names, or
 * the configuration's own. A "(hd0,gpt2)/vmlinuz" path names its partition itself. */
static int entry_volume(const struct search *s, const struct bootcfg_entry *e, int own,
			char *path)
{
	int part = e->root_part;

	if (path[0] == '(') {
		char *close = strchr(path, ')'), *comma = strchr(path, ',');
		if (close && comma && comma < close)
			part = atoi(comma + 1 + strcspn(comma + 1, "0123456789"));
		if (close)
			memmove(path, close + 1, strlen(close + 1) + 1);
	}
	for (int i = 0; i < s->n; i++)
		if ((e->search_uuid[0] && !strcasecmp(s->v[i].uuid, e->search_uuid)) ||
		    (e->search_label[0] && !strcmp(s->v[i].label, e->search_label)))
			return i;
	for (int i = 0; part && i < s->n; i++)
		if (s->v[i].partno == part)
			return i;
	return own;
}

/* The BLS entry to boot in dir: saved_entry's, else the newest version (as GRUB's blscfg and
 * systemd-boot sort them). */
static int bls_pick(struct search *s, int i, const char *dir, struct bootcfg_env *env,
		    struct bootcfg_entry *e)
{
	static char names[256][256];
	char path[600], version[128], best_version[128] = "", *text;
	const char *saved = bootcfg_env_get(env, "saved_entry");
	int n = extfs_list(s->fs[i], dir, names, 256), found = -1;
	bool saved_found = false;
	size_t len;
	struct bootcfg_entry cand;

	for (int k = 0; k < n; k++) {
		size_t l = strlen(names[k]);
		if (l < 6 || strcmp(names[k] + l - 5, ".conf"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		if (extfs_read(s->fs[i], path, 65536, &text, &len) < 0)
			continue;
		int rc = bootcfg_bls(text, len, env, &cand, version);
		free(text);
		bool is_saved = saved && strlen(saved) == l - 5 && !strncmp(names[k], saved, l - 5);
		if (rc == 0 && (is_saved || (!saved_found && (found < 0 ||
							      strverscmp(version, best_version) > 0)))) {
			*e = cand;
			snprintf(best_version, sizeof(best_version), "%s", version);
			found = k, saved_found |= is_saved;
		}
	}
	return found < 0 ? -ENOENT : 0;
}

/* a regular file (links followed) with something in it */
static bool exists(struct extfs *fs, const char *path)
{
	char *d = NULL;
	size_t len;
	int rc = extfs_read(fs, path, 0, &d, &len);

	free(d);
	return rc == -EFBIG;
}

/* Debian's links, then the newest /boot/vmlinuz-VERSION with its initrd.img-VERSION (Debian) or
 * initramfs-VERSION.img (Fedora) */
static int kernel_files(struct search *s, int i, struct bootcfg_entry *e)
{
	static const char *const links[][2] = { { "/vmlinuz", "/initrd.img" },
						{ "/boot/vmlinuz", "/boot/initrd.img" } };
	static char names[1024][256];

	memset(e, 0, sizeof(*e));
	for (size_t k = 0; k < 2; k++)
		if (exists(s->fs[i], links[k][0])) {
			snprintf(e->kernel, sizeof(e->kernel), "%s", links[k][0]);
			if (exists(s->fs[i], links[k][1]))
				snprintf(e->initrd[e->ninitrd++], BOOTCFG_PATH, "%s", links[k][1]);
			return 0;
		}
	int n = extfs_list(s->fs[i], "/boot", names, 1024), best = -1;
	for (int k = 0; k < n; k++)
		if (!strncmp(names[k], "vmlinuz-", 8) &&
		    (best < 0 || strverscmp(names[k], names[best]) > 0))
			best = k;
	if (best < 0)
		return -ENOENT;
	const char *ver = names[best] + 8;
	snprintf(e->kernel, sizeof(e->kernel), "/boot/%s", names[best]);
	char p[BOOTCFG_PATH];
	snprintf(p, sizeof(p), "/boot/initrd.img-%s", ver);
	if (!exists(s->fs[i], p))
		snprintf(p, sizeof(p), "/boot/initramfs-%s.img", ver);
	if (exists(s->fs[i], p))
		snprintf(e->initrd[e->ninitrd++], BOOTCFG_PATH, "%s", p);
	return 0;
}

/* GRUB's configuration on volume i (the root's /boot/grub or a /boot volume's /grub): 0 with e
 * filled, -ENOENT when there is none, another -errno with err when it is refused. */
static int grub(struct search *s, int i, struct bootcfg_entry *e, char *how, size_t howlen,
		char *err, size_t errlen)
{
	static const char *const dirs[] = { "/boot/grub", "/grub", "/boot/grub2", "/grub2" };
	char path[64], at[96], why[256];
	struct bootcfg_env env;
	char *text = NULL;
	size_t len;
	int rc = -ENOENT;

	for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]) && rc == -ENOENT; k++) {
		snprintf(path, sizeof(path), "%s/grub.cfg", dirs[k]);
		if ((rc = extfs_read(s->fs[i], path, BOOTCFG_MAX_TEXT, &text, &len)) == -ENOENT)
			continue;
		where(s, i, at, sizeof(at));
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s's %s %s", s->image, at, path,
				 rc == -EFBIG ? "is larger than a boot configuration's 1 MiB" :
				 rc == -ELOOP ? "is a loop of symbolic links" : "cannot be read");
			return rc == -ENOENT ? -EINVAL : rc;
		}
		bootcfg_env_init(&env);
		char *envtext = NULL;
		snprintf(path, sizeof(path), "%s/grubenv", dirs[k]);
		if (extfs_read(s->fs[i], path, 65536, &envtext, &len) == 0)
			bootcfg_grubenv(&env, envtext, len, why, sizeof(why));
		free(envtext);
		snprintf(path, sizeof(path), "%s/grub.cfg", dirs[k]);
		rc = bootcfg_grub(text, strlen(text), &env, e, why, sizeof(why));
		free(text);
		if (rc == -ENOENT && e->bls)	/* Fedora's: entries in BLS files */
			rc = bls_pick(s, i, k == 1 || k == 3 ? "/loader/entries" :
							       "/boot/loader/entries", &env, e);
		bootcfg_env_free(&env);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s's %s: %s", s->image, at, path,
				 e->bls ? "its BLS entries name no kernel" : why);
			return rc == -ENOENT ? -ENOEXEC : rc;
		}
		snprintf(how, howlen, "%s's default entry '%s' in %s's %s",
			 e->bls ? "the boot loader (BLS)" : "GRUB", e->title, at, path);
	}
	return rc;
}

/* What nestvisor cannot read, said as users know it, and what to do instead. */
static const struct {
	const char *type, *what;
} unreadable[] = {
	{ "xfs", "XFS" },
	{ "btrfs", "btrfs" },
	{ "LVM2_member", "an LVM physical volume" },
	{ "crypto_LUKS", "LUKS-encrypted" },
	{ "zfs_member", "ZFS" },
	{ "ntfs", "NTFS (Windows)" },
	{ "BitLocker", "BitLocker-encrypted (Windows)" },
	{ "iso9660", "an ISO 9660 filesystem (an installer or live CD)" },
	{ "squashfs", "squashfs (a live image)" },
	{ "swap", "swap" },
	{ "vfat", "FAT (an EFI system partition)" },
	{ "linux_raid_member", "a Linux RAID member" },
};

static void describe(const struct search *s, const char *pttype, char *out, size_t len)
{
	size_t k = (size_t)snprintf(out, len, "%s holds ", s->image);

	if (pttype[0])
		k += (size_t)snprintf(out + k, len > k ? len - k : 0, "a %s partition table with ",
				      !strcmp(pttype, "dos") ? "MBR" : pttype);
	for (int i = 0; i < s->n && k < len; i++) {
		const char *what = s->v[i].type[0] ? s->v[i].type : "nothing nestvisor recognises";
		for (size_t u = 0; u < sizeof(unreadable) / sizeof(unreadable[0]); u++)
			if (!strcmp(s->v[i].type, unreadable[u].type))
				what = unreadable[u].what;
		if (s->v[i].partno)
			k += (size_t)snprintf(out + k, len - k, "%spartition %d: %s", i ? ", " : "",
					      s->v[i].partno, what);
		else
			k += (size_t)snprintf(out + k, len - k, "%s", what);
	}
	if (s->n == 0 && k < len)
		snprintf(out + k, len - k, "no partition");
}

static int read_to(struct search *s, int vol, const char *path, size_t max, char **data,
		   size_t *len, char *err, size_t errlen)
{
	char at[96];
	int rc = extfs_read(s->fs[vol], path, max, data, len);

	if (rc == 0)
		return 0;
	where(s, vol, at, sizeof(at));
	snprintf(err, errlen, "%s: %s's %s %s", s->image, at, path,
		 rc == -ENOENT ? "does not exist (the boot configuration names a file that is "
				 "not there)" :
		 rc == -ELOOP ? "is a loop of symbolic links" :
		 rc == -EFBIG ? "is larger than nestvisor boots (256 MiB for a kernel, 1 GiB of "
				"initramfs)" :
		 rc == -EISDIR ? "is not a regular file" : "cannot be read (a damaged filesystem?)");
	return rc;
}

/* The entry's kernel and initrds (concatenated, each padded to 4 bytes as GRUB does) into b. */
static int load(struct search *s, int own, struct bootcfg_entry *e, struct imgboot *b, char *err,
		size_t errlen)
{
	int vol = entry_volume(s, e, own, e->kernel);
	char *d;
	size_t len;
	int rc;

	if (!fs_of(s, vol, err, errlen))
		return -EINVAL;
	if ((rc = read_to(s, vol, e->kernel, IMGBOOT_MAX_KERNEL, &d, &len, err, errlen)) < 0)
		return rc;
	b->kernel = (uint8_t *)d, b->klen = len;
	if (len < 0x206 || (memcmp(d + 0x202, "HdrS", 4) && memcmp(d, "\x7f" "ELF", 4))) {
		snprintf(err, errlen, "%s: %s is not a Linux kernel (no bzImage or ELF header)",
			 s->image, e->kernel);
		return -ENOEXEC;
	}
	snprintf(b->kernel_path, sizeof(b->kernel_path), "%s:%d:%s", s->image, s->v[vol].partno,
		 e->kernel);
	for (int k = 0; k < e->ninitrd; k++) {
		int iv = entry_volume(s, e, own, e->initrd[k]);
		if (!fs_of(s, iv, err, errlen))
			return -EINVAL;
		if ((rc = read_to(s, iv, e->initrd[k], IMGBOOT_MAX_INITRD - b->ilen, &d, &len, err,
				  errlen)) < 0)
			return rc;
		size_t pad = (b->ilen + 3) & ~(size_t)3;
		uint8_t *all = realloc(b->initrd, pad + len);
		if (!all) {
			free(d);
			return -ENOMEM;
		}
		memset(all + b->ilen, 0, pad - b->ilen);
		memcpy(all + pad, d, len);
		free(d);
		b->initrd = all, b->ilen = pad + len;
		snprintf(b->initrd_path, sizeof(b->initrd_path), "%s:%d:%s%s", s->image,
			 s->v[iv].partno, e->initrd[0], e->ninitrd > 1 ? " (and more)" : "");
	}
	snprintf(b->cmdline, sizeof(b->cmdline), "%s", e->args);
	return 0;
}

static int image_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	*size = (uint64_t)st.st_size;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

int imgboot_inspect(int fd, const char *image, struct imgboot *b, char *err, size_t errlen)
{
	static struct search s;
	struct bootcfg_entry e;
	struct bootcfg_env env;
	char pttype[32], why[512] = "", at[96];
	uint64_t size;
	int rc = -ENOENT, found = -1;

	memset(&s, 0, sizeof(s));
	s.fd = fd, s.image = image;
	if ((rc = image_size(fd, &size)) < 0) {
		snprintf(err, errlen, "%s: its size cannot be read", image);
		return rc;
	}
	if ((s.n = parts_scan(fd, size, s.v, PARTS_MAX, pttype, sizeof(pttype), err, errlen)) < 0)
		return s.n;
	rc = -ENOENT;
	for (int i = 0; i < s.n && rc == -ENOENT; i++)
		if (fs_of(&s, i, why, sizeof(why)) &&
		    (rc = grub(&s, i, &e, b->how, sizeof(b->how), err, errlen)) == 0)
			found = i;
	if (rc != 0 && rc != -ENOENT)
		goto out;
	for (int i = 0; i < s.n && found < 0; i++) {
		bootcfg_env_init(&env);
		if (s.fs[i] && (bls_pick(&s, i, "/loader/entries", &env, &e) == 0 ||
				bls_pick(&s, i, "/boot/loader/entries", &env, &e) == 0)) {
			where(&s, i, at, sizeof(at));
			snprintf(b->how, sizeof(b->how), "the newest BLS entry '%s' in %s", e.title,
				 at);
			found = i;
		}
		bootcfg_env_free(&env);
	}
	/* no configuration: the kernel a Debian system links to, its root this filesystem */
	for (int i = 0; i < s.n && found < 0; i++)
		if (s.fs[i] && exists(s.fs[i], "/sbin/init") && kernel_files(&s, i, &e) == 0) {
			where(&s, i, at, sizeof(at));
			snprintf(e.args, sizeof(e.args), "root=UUID=%s ro", s.v[i].uuid);
			snprintf(b->how, sizeof(b->how), "%.400s in %s (no boot configuration; root=UUID "
				 "of that filesystem)", e.kernel, at);
			found = i;
		}
	if (found < 0) {
		describe(&s, pttype, err, errlen);
		size_t k = strlen(err);
		snprintf(err + k, errlen - k, "%s%s", why[0] ? "; " : "", why);
		k = strlen(err);
		snprintf(err + k, errlen - k, ": nestvisor finds no Linux kernel to boot in it (it "
			 "reads ext2/3/4 filesystems: GRUB's grub.cfg, BLS entries, /vmlinuz); boot "
			 "it with --kernel and --initrd taken from the image, or give an image whose "
			 "root or /boot filesystem is ext2/3/4");
		rc = -ENOEXEC;
		goto out;
	}
	rc = load(&s, found, &e, b, err, errlen);
out:
	for (int i = 0; i < s.n; i++)
		extfs_close(s.fs[i]);
	return rc;
}
