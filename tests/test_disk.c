/* test_disk: a --disk image opened as root never through what another user can change (a link they
 * planted to a root-only file or a block device, their directory, a directory anyone may write), a
 * block device the host holds never written, one image never given twice to one VM. The other user
 * is uid 65534 (nobody), owner of files made here; the cases that need root SKIP without it. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/testutil.h"
#include "vmm/hw/disk.h"
#include "vmm/vmm.h"

#define OTHER 65534

struct fixture { char dir[256]; char err[2048]; };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	test_mkdtemp(f->dir, sizeof(f->dir));
	chmod(f->dir, 0755);
	test_sh("printf secret > '%s/secret' && chmod 600 '%s/secret'", f->dir, f->dir);
	test_sh("truncate -s 1M '%s/ok.img'", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_sh("umount '%s/mnt' 2>/dev/null; rm -rf '%s'", f->dir, f->dir);
	free(f);
	return 0;
}

/* disk_image_open on path (",ro" when ro): its return; the fd closed. */
static int open_disk(struct fixture *f, const char *path, bool ro)
{
	struct vmm_disk d = { .ro = ro };
	struct disk_image img;

	snprintf(d.path, sizeof(d.path), "%s", path);
	f->err[0] = '\0';
	int rc = disk_image_open(&d, NULL, 0, &img, f->err, sizeof(f->err));
	if (rc == 0)
		close(img.fd);
	else
		print_message("# %s\n", f->err);
	return rc;
}

static bool root_or_skip(void)
{
	if (geteuid() == 0)
		return true;
	print_message("# not root: files of another user cannot be made here\n");
	return false;
}

/* ~alice/vm.img -> /root/secret: her directory and her link are refused, the secret untouched. */
static void test_disk_planted_link(void **state)
{
	struct fixture *f = *state;
	char p[600];

	if (!root_or_skip()) {
		skip();
		return;
	}
	test_sh("cd '%s' && mkdir home && ln -s '%s/secret' home/vm.img && chown -h %d home "
		"home/vm.img",
		f->dir, f->dir, OTHER);
	snprintf(p, sizeof(p), "%s/home/vm.img", f->dir);
	assert_int_equal(open_disk(f, p, false), -EPERM);
	assert_non_null(strstr(f->err, "belongs to uid 65534"));
	assert_non_null(strstr(f->err, "/home"));
	/* the same link in a directory of ours: the link itself is refused */
	test_sh("cd '%s' && ln -s '%s/secret' vm.img && chown -h %d vm.img", f->dir, f->dir, OTHER);
	snprintf(p, sizeof(p), "%s/vm.img", f->dir);
	assert_int_equal(open_disk(f, p, false), -EPERM);
	assert_non_null(strstr(f->err, "symbolic link that belongs to uid 65534"));
	assert_int_equal(test_sh("[ \"$(cat '%s/secret')\" = secret ]", f->dir), 0);
	/* and to a block device (what /dev/vda would be) */
	test_sh("cd '%s' && ln -s /dev/null dev.img && chown -h %d dev.img", f->dir, OTHER);
	snprintf(p, sizeof(p), "%s/dev.img", f->dir);
	assert_int_equal(open_disk(f, p, true), -EPERM);
	/* a link of ours is followed, as the user meant */
	test_sh("cd '%s' && ln -s ok.img mine.img", f->dir);
	snprintf(p, sizeof(p), "%s/mine.img", f->dir);
	assert_int_equal(open_disk(f, p, false), 0);
	/* and relative to the current directory, whose own path is checked too */
	char cwd[600];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(open_disk(f, "home/vm.img", true), -EPERM);
	assert_int_equal(open_disk(f, "./mine.img", true), 0);
	assert_int_equal(chdir(cwd), 0);
}

/* A directory anyone may write: refused without the sticky bit; with it (as /tmp), only entries of
 * ours or root's. */
static void test_disk_writable_dir(void **state)
{
	struct fixture *f = *state;
	char p[600];

	test_sh("cd '%s' && mkdir ww && chmod 777 ww && cp ok.img ww/", f->dir);
	snprintf(p, sizeof(p), "%s/ww/ok.img", f->dir);
	assert_int_equal(open_disk(f, p, false), -EPERM);
	assert_non_null(strstr(f->err, "can be written by others"));
	test_sh("chmod 1777 '%s/ww'", f->dir);
	assert_int_equal(open_disk(f, p, false), 0);
	if (!root_or_skip())
		return;
	test_sh("cd '%s/ww' && cp ok.img theirs.img && chown %d theirs.img", f->dir, OTHER);
	snprintf(p, sizeof(p), "%s/ww/theirs.img", f->dir);
	assert_int_equal(open_disk(f, p, true), -EPERM);
	assert_non_null(strstr(f->err, "where anyone may make entries"));
}

/* One image as two disks of one VM: said so (it was "in use by another VM"); read-only twice is
 * fine. */
static void test_disk_given_twice(void **state)
{
	struct fixture *f = *state;
	struct vmm_disk d = { 0 };
	struct disk_image one, two;

	snprintf(d.path, sizeof(d.path), "%s/ok.img", f->dir);
	assert_int_equal(disk_image_open(&d, NULL, 0, &one, f->err, sizeof(f->err)), 0);
	assert_int_equal(disk_image_open(&d, &one, 1, &two, f->err, sizeof(f->err)), -EBUSY);
	assert_non_null(strstr(f->err, "given twice (as disk 1 and disk 2)"));
	close(one.fd);
	d.ro = true;
	assert_int_equal(disk_image_open(&d, NULL, 0, &one, f->err, sizeof(f->err)), 0);
	assert_int_equal(disk_image_open(&d, &one, 1, &two, f->err, sizeof(f->err)), 0);
	close(one.fd);
	close(two.fd);
}

/* A block device the host has mounted is not written by a guest (O_EXCL); read-only is allowed. */
static void test_disk_mounted_blockdev(void **state)
{
	struct fixture *f = *state;
	char dev[64] = "";

	if (!root_or_skip()) {
		skip();
		return;
	}
	test_sh("truncate -s 8M '%s/fs.img' && mkdir '%s/mnt'", f->dir, f->dir);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s/fs.img' 2>/dev/null", f->dir);
	FILE *p = popen(cmd, "r");
	if (!p || !fgets(dev, sizeof(dev), p) || dev[0] != '/') {
		if (p)
			pclose(p);
		print_message("# no loop device here (losetup): nothing to mount\n");
		skip();
		return;
	}
	pclose(p);
	dev[strcspn(dev, "\n")] = '\0';
	if (test_sh("mkfs.ext2 -q '%s' && mount '%s' '%s/mnt'", dev, dev, f->dir) != 0) {
		test_sh("losetup -d '%s'", dev);
		print_message("# mkfs.ext2 or mount failed here\n");
		skip();
		return;
	}
	assert_int_equal(open_disk(f, dev, false), -EBUSY);
	assert_non_null(strstr(f->err, "the host is using this block device"));
	assert_int_equal(open_disk(f, dev, true), 0);
	test_sh("umount '%s/mnt'", f->dir);
	assert_int_equal(open_disk(f, dev, false), 0);
	test_sh("losetup -d '%s'", dev);
}

/* --device's address: as lspci prints it, into the sysfs name; anything else refused, named (it
 * becomes part of a /sys path) */
static void test_pci_addr(void **state)
{
	static const struct { const char *in, *out; } good[] = {
		{ "01:00.0", "0000:01:00.0" }, { "0000:00:1f.3", "0000:00:1f.3" },
		{ "00:02.7", "0000:00:02.7" }, { "10000:00:00.0", NULL }, { "00:20.0", NULL },
		{ "00:02.8", NULL }, { "00:02.0 ", NULL }, { "00:02", NULL }, { "", NULL },
		{ "../00:02.0", NULL }, { "00:02.0/../x", NULL }, { "-1:02.0", NULL },
		{ "0000:00:02.0x", NULL }, { "zz:00.0", NULL },
	};
	char out[16], err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = vmm_pci_addr_parse(good[i].in, out, err, sizeof(err));
		if (good[i].out) {
			assert_int_equal(rc, 0);
			assert_string_equal(out, good[i].out);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_non_null(strstr(err, "is not a PCI address"));
		}
	}
}

/* A container format is told by its content, whatever the file's name, and refused with the way
 * to a raw copy; format=raw takes the bytes as they are. qcow2 and VMDK made by qemu-img where it
 * is installed, the others written here as their specifications lay out their magic numbers. */
static void test_disk_formats(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *make, *says; } cases[] = {
		{ "printf 'QFI\\373\\0\\0\\0\\003' > %s/x; truncate -s 197120 %s/x",
		  "a qcow2 image, not a raw disk: `nestvisor image import " },
		{ "printf 'KDMV' > %s/x; truncate -s 1M %s/x", "a VMDK (sparse) image" },
		{ "printf '# Disk DescriptorFile\\n' > %s/x; truncate -s 512 %s/x",
		  "a VMDK descriptor, not a disk image: a text file naming other files" },
		{ "truncate -s 64 %s/x; printf '\\177\\020\\332\\276' >> %s/x; truncate -s 1M %s/x",
		  "a VDI (VirtualBox) image" },
		{ "printf vhdxfile > %s/x; truncate -s 1M %s/x", "a VHDX image" },
		/* a fixed VHD: the raw disk, then its footer */
		{ "truncate -s 1M %s/x; printf conectix >> %s/x; truncate -s 1049088 %s/x",
		  "a VHD (fixed) image" },
	};
	struct vmm_disk d = { 0 };
	struct disk_image img;
	char path[300];

	snprintf(path, sizeof(path), "%s/x", f->dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_sh("rm -f %s/x", f->dir);
		test_sh(cases[i].make, f->dir, f->dir, f->dir);
		assert_int_equal(open_disk(f, path, false), -EINVAL);
		if (!strstr(f->err, cases[i].says))
			fail_msg("%s: said '%s'", cases[i].says, f->err);
		assert_non_null(strstr(f->err, path));		/* names the image */
		snprintf(d.path, sizeof(d.path), "%s", path);	/* unless taken as raw */
		d.raw = true;
		assert_int_equal(disk_image_open(&d, NULL, 0, &img, f->err, sizeof(f->err)), 0);
		close(img.fd);
	}
	/* a raw disk whatever it holds, and one named like a qcow2 */
	test_sh("head -c 4096 /dev/urandom > %s/y.qcow2 && truncate -s 1M %s/y.qcow2", f->dir, f->dir);
	snprintf(path, sizeof(path), "%s/y.qcow2", f->dir);
	assert_int_equal(open_disk(f, path, false), 0);
	if (system("command -v qemu-img > /dev/null") != 0) {
		print_message("# no qemu-img (apt-get install qemu-utils): its images not made\n");
		return;
	}
	test_sh("qemu-img create -q -f qcow2 %s/q.img 1G && qemu-img create -q -f vmdk %s/v.img 1G",
		f->dir, f->dir);
	snprintf(path, sizeof(path), "%s/q.img", f->dir);
	assert_int_equal(open_disk(f, path, false), -EINVAL);
	assert_non_null(strstr(f->err, "a qcow2 image"));
	snprintf(path, sizeof(path), "%s/v.img", f->dir);
	assert_int_equal(open_disk(f, path, true), -EINVAL);
	assert_non_null(strstr(f->err, "a VMDK (sparse) image"));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_disk_planted_link, setup, teardown),
	cmocka_unit_test_setup_teardown(test_disk_writable_dir, setup, teardown),
	cmocka_unit_test_setup_teardown(test_disk_given_twice, setup, teardown),
	cmocka_unit_test_setup_teardown(test_disk_mounted_blockdev, setup, teardown),
	cmocka_unit_test_setup_teardown(test_disk_formats, setup, teardown),
	cmocka_unit_test(test_pci_addr),
};

TEST_MAIN(tests)
