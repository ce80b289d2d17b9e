/* test_imgboot: an OS image's own kernel, initramfs and command line found the way its boot loader
 * would, by the confined reader (this program exec'd again): real images made here with sfdisk and
 * mke2fs -d (GPT and MBR partitions, a separate /boot, a bare filesystem with Debian's links, BLS
 * entries) and hostile ones (a 100 MB grub.cfg, a loop of links, a damaged superblock, escape
 * sequences in a title, a disk holding swap only), each refused with what it is. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include "imgboot/imgboot.h"
#include "tests/testutil.h"

#define UUID_ROOT "6b9a5a1c-5b37-4c5d-a3ad-0c1a6dfd2b39"
#define UUID_BOOT "0c5e0ab3-8e43-4a24-bb27-9b34ad3c1b07"

static char dir[4096];
static const char *grub_cfg_root =
	"set default=0\nmenuentry 'Debian GNU/Linux' --id deb {\n"
	"  search --no-floppy --fs-uuid --set=root " UUID_ROOT "\n"
	"  linux /boot/vmlinuz-6.1.0-9-amd64 root=UUID=" UUID_ROOT " ro quiet\n"
	"  initrd /boot/initrd.img-6.1.0-9-amd64\n}\n";

static int setup(void **state)
{
	(void)state;
	if (test_sh("command -v sfdisk mke2fs mkswap > /dev/null") != 0)
		return 0;	/* each test says it skips */
	test_mkdtemp(dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (dir[0])
		test_sh("rm -rf %s", dir);
	return 0;
}

static bool have_tools(void)
{
	if (dir[0])
		return true;
	printf("# SKIP: sfdisk, mke2fs and mkswap are needed to make test images (apt-get install "
	       "fdisk e2fsprogs)\n");
	return false;
}

/* a tree in $dir/NAME with a fake bzImage (its header's magic) and an initrd of known bytes */
static void tree(const char *name, const char *boot)
{
	assert_int_equal(test_sh("set -e; d=%s/%s; rm -rf $d; mkdir -p $d%s $d/sbin; "
				 "head -c 4096 /dev/zero > $d%s/vmlinuz-6.1.0-9-amd64; "
				 "printf HdrS | dd of=$d%s/vmlinuz-6.1.0-9-amd64 bs=1 seek=514 "
				 "conv=notrunc status=none; "
				 "printf 'initrd bytes' > $d%s/initrd.img-6.1.0-9-amd64; "
				 "echo init > $d/sbin/init",
				 dir, name, boot, boot, boot, boot),
			 0);
}

static void write_file(const char *rel, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* img with a GPT (or MBR: label dos) of one partition from 1 MiB holding an ext4 of tree */
static void image(const char *img, const char *label, const char *tree_name, const char *uuid)
{
	assert_int_equal(test_sh("set -e; cd %s; rm -f %s; truncate -s 48M %s; "
				 "printf 'label: %s\\nstart=2048, size=90112\\n' | sfdisk -q %s; "
				 "mke2fs -q -F -t ext4 -U %s -d %s -E offset=1048576 %s 45056k",
				 dir, img, img, label, img, uuid, tree_name, img),
			 0);
}

static int find(const char *img, struct imgboot *b, char *err, size_t errlen)
{
	char path[4200];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, img);
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	rc = imgboot_find(path, fd, NULL, b, err, errlen);
	close(fd);
	if (rc < 0)
		printf("# %s: %s\n", img, err);
	return rc;
}

/* GPT, ext4 root, GRUB's grub.cfg: its default entry's kernel, initrd and arguments */
static void test_gpt_grub(void **state)
{
	struct imgboot b;
	char err[2048], cmd[4096];

	(void)state;
	if (!have_tools())
		return;
	tree("root", "/boot");
	assert_int_equal(test_sh("mkdir -p %s/root/boot/grub", dir), 0);
	write_file("root/boot/grub/grub.cfg", grub_cfg_root);
	image("gpt.img", "gpt", "root", UUID_ROOT);
	assert_int_equal(find("gpt.img", &b, err, sizeof(err)), 0);
	assert_int_equal(b.klen, 4096);
	assert_memory_equal(b.kernel + 0x202, "HdrS", 4);
	assert_int_equal(b.ilen, 12);
	assert_memory_equal(b.initrd, "initrd bytes", 12);
	assert_string_equal(b.cmdline, "root=UUID=" UUID_ROOT " ro quiet");
	assert_non_null(strstr(b.how, "GRUB's default entry 'Debian GNU/Linux'"));
	assert_non_null(strstr(b.kernel_path, ":1:/boot/vmlinuz-6.1.0-9-amd64"));
	imgboot_cmdline(b.cmdline, "nv.x=1", cmd, sizeof(cmd));
	assert_string_equal(cmd, "root=UUID=" UUID_ROOT " ro quiet console=ttyS0 nv.x=1");
	imgboot_cmdline("console=ttyS0,115200", NULL, cmd, sizeof(cmd));
	assert_string_equal(cmd, "console=ttyS0,115200");
	imgboot_free(&b);
	/* the same image as a block device (a loop device, where this host lets us make one) */
	char loop[64] = "";
	FILE *p;
	snprintf(cmd, sizeof(cmd), "losetup -f --show -r %.4000s/gpt.img 2>/dev/null", dir);
	if ((p = popen(cmd, "r")) && fgets(loop, sizeof(loop), p))
		loop[strcspn(loop, "\n")] = 0;
	if (p)
		pclose(p);
	if (loop[0]) {
		int fd = open(loop, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(imgboot_find(loop, fd, NULL, &b, err, sizeof(err)), 0);
		close(fd);
		assert_int_equal(b.klen, 4096);
		assert_string_equal(b.cmdline, "root=UUID=" UUID_ROOT " ro quiet");
		imgboot_free(&b);
		test_sh("losetup -d %s", loop);
	} else {
		printf("# no loop device here: the block-device case is left to the AMD-V host\n");
	}
	/* the same on an MBR */
	image("mbr.img", "dos", "root", UUID_ROOT);
	assert_int_equal(find("mbr.img", &b, err, sizeof(err)), 0);
	assert_int_equal(b.klen, 4096);
	imgboot_free(&b);
}

/* A separate /boot (partition 1, ext2) that GRUB finds by UUID, the root on partition 2 */
static void test_separate_boot(void **state)
{
	struct imgboot b;
	char err[2048];

	(void)state;
	if (!have_tools())
		return;
	tree("boot", "");
	assert_int_equal(test_sh("set -e; cd %s; rm -f /tmp/x; mkdir -p boot/grub rootfs/sbin; "
				 "rm -f boot/sbin/init; rmdir boot/sbin; echo init > rootfs/sbin/init",
				 dir), 0);
	write_file("boot/grub/grub.cfg",
		   "menuentry 'Debian' {\n search --fs-uuid --set=root " UUID_BOOT "\n"
		   " linux /vmlinuz-6.1.0-9-amd64 root=UUID=" UUID_ROOT " ro\n"
		   " initrd /initrd.img-6.1.0-9-amd64\n}\n");
	assert_int_equal(test_sh("set -e; cd %s; truncate -s 64M sep.img; "
				 "printf 'label: gpt\\nstart=2048, size=40960\\nstart=43008\\n' | "
				 "sfdisk -q sep.img; "
				 "mke2fs -q -F -t ext4 -U %s -d rootfs -E offset=%d sep.img 20000k; "
				 "mke2fs -q -F -t ext2 -U %s -d boot -E offset=1048576 sep.img 20480k",
				 dir, UUID_ROOT, 43008 * 512, UUID_BOOT), 0);
	assert_int_equal(find("sep.img", &b, err, sizeof(err)), 0);
	assert_non_null(strstr(b.kernel_path, ":1:/vmlinuz-6.1.0-9-amd64"));
	assert_non_null(strstr(b.how, "partition 1 (ext2)'s /grub/grub.cfg"));
	assert_string_equal(b.cmdline, "root=UUID=" UUID_ROOT " ro");
	assert_int_equal(b.ilen, 12);
	imgboot_free(&b);
}

/* No partition table, no configuration: Debian's /vmlinuz and /initrd.img links, root by UUID */
static void test_bare_links(void **state)
{
	struct imgboot b;
	char err[2048];

	(void)state;
	if (!have_tools())
		return;
	tree("bare", "/boot");
	assert_int_equal(test_sh("set -e; cd %s/bare; ln -s boot/vmlinuz-6.1.0-9-amd64 vmlinuz; "
				 "ln -s /boot/initrd.img-6.1.0-9-amd64 initrd.img; cd ..; "
				 "truncate -s 16M bare.img; mke2fs -q -F -t ext4 -U %s -d bare bare.img",
				 dir, UUID_ROOT), 0);
	assert_int_equal(find("bare.img", &b, err, sizeof(err)), 0);
	assert_string_equal(b.cmdline, "root=UUID=" UUID_ROOT " ro");
	assert_non_null(strstr(b.kernel_path, ":0:/vmlinuz"));
	assert_int_equal(b.ilen, 12);
	imgboot_free(&b);
}

/* BLS entries: the newest version; grubenv's saved_entry when grub.cfg says blscfg */
static void test_bls(void **state)
{
	struct imgboot b;
	char err[2048];

	(void)state;
	if (!have_tools())
		return;
	tree("bls", "/boot");
	assert_int_equal(test_sh("mkdir -p %s/bls/boot/loader/entries", dir), 0);
	write_file("bls/boot/loader/entries/a.conf", "title Old\nversion 6.1.0-9\n"
		   "linux /boot/vmlinuz-6.1.0-9-amd64\noptions root=old\n");
	write_file("bls/boot/loader/entries/b.conf", "title New\nversion 6.1.0-10\n"
		   "linux /boot/vmlinuz-6.1.0-9-amd64\ninitrd /boot/initrd.img-6.1.0-9-amd64\n"
		   "options root=new\n");
	image("bls.img", "gpt", "bls", UUID_ROOT);
	assert_int_equal(find("bls.img", &b, err, sizeof(err)), 0);
	assert_string_equal(b.cmdline, "root=new");
	imgboot_free(&b);
	assert_int_equal(test_sh("mkdir -p %s/bls/boot/grub", dir), 0);
	write_file("bls/boot/grub/grub.cfg", "load_env\nset default=\"${saved_entry}\"\nblscfg\n");
	write_file("bls/boot/grub/grubenv", "# GRUB Environment Block\nsaved_entry=a\n");
	image("bls.img", "gpt", "bls", UUID_ROOT);
	assert_int_equal(find("bls.img", &b, err, sizeof(err)), 0);
	assert_string_equal(b.cmdline, "root=old");
	assert_non_null(strstr(b.how, "(BLS)"));
	imgboot_free(&b);
}

static void refused(const char *img, int want, const char *says)
{
	struct imgboot b;
	char err[2048];

	assert_int_equal(find(img, &b, err, sizeof(err)), want);
	assert_non_null(strstr(err, says));
	for (const char *p = err; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	assert_null(b.kernel);
}

/* Hostile images: each refused with what it is; nothing crashes, nothing is half-taken */
static void test_hostile(void **state)
{
	(void)state;
	if (!have_tools())
		return;
	/* a 100 MB grub.cfg */
	tree("big", "/boot");
	assert_int_equal(test_sh("mkdir -p %s/big/boot/grub && truncate -s 100M "
				 "%s/big/boot/grub/grub.cfg", dir, dir), 0);
	assert_int_equal(test_sh("set -e; cd %s; truncate -s 160M big.img; printf 'label: gpt\\n"
				 "start=2048\\n' | sfdisk -q big.img; mke2fs -q -F -t ext4 -d big -E "
				 "offset=1048576 big.img 150000k", dir), 0);
	refused("big.img", -EFBIG, "larger than a boot configuration's 1 MiB");
	/* grub.cfg a loop of links */
	tree("loop", "/boot");
	assert_int_equal(test_sh("set -e; mkdir -p %s/loop/boot/grub; cd %s/loop/boot/grub; "
				 "ln -s a grub.cfg; ln -s b a; ln -s a b", dir, dir), 0);
	image("loop.img", "gpt", "loop", UUID_ROOT);
	refused("loop.img", -ELOOP, "loop of symbolic links");
	/* a kernel the configuration names that is not there; a title of escape sequences */
	tree("gone", "/boot");
	assert_int_equal(test_sh("mkdir -p %s/gone/boot/grub", dir), 0);
	write_file("gone/boot/grub/grub.cfg", "menuentry \"\x1b]0;owned\x07\x1b[2J\" {\n"
		   "linux /boot/vmlinuz-9\x1b[31m\n}\n");
	image("gone.img", "gpt", "gone", UUID_ROOT);
	refused("gone.img", -ENOENT, "does not exist");
	/* a damaged superblock: blkid still sees ext4, libext2fs refuses it */
	tree("bad", "/boot");
	image("bad.img", "gpt", "bad", UUID_ROOT);
	assert_int_equal(test_sh("printf '\\377\\377\\377\\177' | dd of=%s/bad.img bs=1 "
				 "seek=$((1048576 + 1024 + 24)) conv=notrunc status=none", dir), 0);
	refused("bad.img", -ENOEXEC, "e2fsck");
	/* swap only: what it is and what to do */
	assert_int_equal(test_sh("set -e; cd %s; truncate -s 8M swap.img; printf 'label: gpt\\n"
				 "start=2048\\n' | sfdisk -q swap.img; truncate -s 6M s; mkswap -q s; "
				 "dd if=s of=swap.img bs=1M seek=1 conv=notrunc status=none",
				 dir), 0);
	refused("swap.img", -ENOEXEC, "partition 1: swap");
	refused("swap.img", -ENOEXEC, "--kernel");
	/* nothing at all */
	assert_int_equal(test_sh("truncate -s 4M %s/zero.img", dir), 0);
	refused("zero.img", -ENOEXEC, "nothing nestvisor recognises");
}

static const void *has(const char *b, size_t len, const char *s)
{
	return memmem(b, len, s, strlen(s));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	assert_non_null(f);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* --cloud-init: the seed is an ISO 9660 volume "cidata" whose user-data makes the user with the key
 * and the password's hash (never the password); bad keys, names and files are refused */
static void test_seed(void **state)
{
	struct imgboot_seed s;
	char err[1200], spec[4400], key[4200], iso[4200];
	size_t len;

	(void)state;
	if (!have_tools())
		return;
	snprintf(key, sizeof(key), "%s/id.pub", dir);
	snprintf(iso, sizeof(iso), "%s/seed.iso", dir);
	write_file("id.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkQ user@host\n");
	snprintf(spec, sizeof(spec), "ssh-key=%s,user=alice,password=pa55\"word", key);
	assert_int_equal(imgboot_seed_parse(spec, &s, err, sizeof(err)), 0);
	assert_int_equal(imgboot_seed_write(&s, "vm1", iso, err, sizeof(err)), 0);
	imgboot_seed_free(&s);
	assert_int_equal(test_sh("blkid -p -s TYPE -s LABEL -o export %s | tr '\\n' ' ' | "
				 "grep -q 'LABEL=cidata TYPE=iso9660'", iso), 0);
	char *b = slurp(iso, &len);
	assert_non_null(has(b, len, "#cloud-config\n"));
	assert_non_null(has(b, len, "\"name\": \"alice\""));
	assert_non_null(has(b, len, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkQ user@host"));
	assert_non_null(has(b, len, "\"passwd\": \"$6$"));
	assert_non_null(has(b, len, "\"manage_etc_hosts\": true"));
	assert_null(has(b, len, "pa55"));	/* the password itself is nowhere */
	assert_non_null(has(b, len, "\"instance-id\": \"nestvisor-vm1\""));
	free(b);
	/* refused: a private key, a bad name, no way in, an unknown key, user-data without a header */
	write_file("id", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n");
	snprintf(spec, sizeof(spec), "ssh-key=%s/id", dir);
	assert_int_equal(imgboot_seed_parse(spec, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "never the private key"));
	assert_null(strstr(err, "BEGIN"));
	assert_int_equal(imgboot_seed_parse("user=Root,password=x", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(imgboot_seed_parse("user=bob", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no one can log in"));
	assert_int_equal(imgboot_seed_parse("colour=blue", &s, err, sizeof(err)), -EINVAL);
	write_file("ud", "users: []\n");
	snprintf(spec, sizeof(spec), "user-data=%s/ud", dir);
	assert_int_equal(imgboot_seed_parse(spec, &s, err, sizeof(err)), -EINVAL);
	write_file("ud", "#cloud-config\nusers: []\n");
	assert_int_equal(imgboot_seed_parse(spec, &s, err, sizeof(err)), 0);
	assert_int_equal(imgboot_seed_write(&s, "vm2", iso, err, sizeof(err)), 0);
	imgboot_seed_free(&s);
	b = slurp(iso, &len);
	assert_non_null(has(b, len, "#cloud-config\nusers: []\n"));
	free(b);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_gpt_grub), cmocka_unit_test(test_separate_boot),
	cmocka_unit_test(test_bare_links), cmocka_unit_test(test_bls),
	cmocka_unit_test(test_hostile), cmocka_unit_test(test_seed),
};

int main(int argc, char **argv)
{
	/* the reader is this program again (imgboot_find execs /proc/self/exe) */
	if (argc > 1 && !strcmp(argv[1], IMGBOOT_READER_ARG))
		return imgboot_reader_main(argc, argv);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
