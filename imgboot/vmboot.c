/* vmboot: a VM's configuration completed from its first disk's own kernel (no --kernel) and its
 * cloud-init seed, one way for `nestvisor run` and the TUI's launch form alike. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "imgboot/imgboot.h"
#include "vmm/control.h"
#include "vmm/vmm.h"

/* The first disk's kernel, initramfs and command line (the user's after the image's). */
static int image_kernel(struct vmm_config *cfg, struct imgboot_vm *v, char *err, size_t errlen)
{
	const struct vmm_disk *d = &cfg->disks[0];
	char why[2048];
	int fd, rc;

	if ((rc = vmm_disk_open_read(d, &fd, err, errlen)) < 0)
		return rc;
	rc = imgboot_find(d->path, fd, NULL, &v->image, why, sizeof(why));
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "--disk %s", why);
		return rc;
	}
	imgboot_cmdline(v->image.cmdline, cfg->cmdline, v->cmdline, sizeof(v->cmdline));
	cfg->kernel = v->image.kernel_path;
	cfg->kernel_data = v->image.kernel, cfg->kernel_len = v->image.klen;
	cfg->initrd = v->image.ilen ? v->image.initrd_path : NULL;
	cfg->initrd_data = v->image.ilen ? v->image.initrd : NULL;
	cfg->initrd_len = v->image.ilen;
	cfg->cmdline = v->cmdline;
	return 0;
}

/* The seed written into the runtime directory (DIR/NAME.cidata.iso) and given to the guest
 * read-only after the other disks, where cloud-init's NoCloud source looks. */
static int cloud_seed(struct vmm_config *cfg, const char *spec, struct imgboot_vm *v, char *err,
		      size_t errlen)
{
	char dir[128];
	int rc;

	if (cfg->ndisks == VMM_MAX_DISKS) {
		snprintf(err, errlen, "--cloud-init takes a disk of its own: give at most %d disks",
			 VMM_MAX_DISKS - 1);
		return -E2BIG;
	}
	if ((rc = imgboot_seed_parse(spec, &v->seed, err, errlen)) < 0)
		return rc;
	if ((rc = vmm_control_dir(dir, sizeof(dir), err, errlen)) == 0 &&
	    (rc = vmm_control_file(cfg->name, ".cidata.iso", v->seed_path,
				   sizeof(v->seed_path))) < 0)
		snprintf(err, errlen, "--cloud-init: the runtime directory's path is too long");
	if (rc == 0)
		rc = imgboot_seed_write(&v->seed, cfg->name, v->seed_path, err, errlen);
	imgboot_seed_free(&v->seed);
	if (rc < 0) {
		v->seed_path[0] = 0;
		return rc;
	}
	struct vmm_disk *d = &cfg->disks[cfg->ndisks++];
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", v->seed_path);
	snprintf(d->serial, sizeof(d->serial), "cidata");
	d->ro = true;
	return 0;
}

int imgboot_vm_prepare(struct vmm_config *cfg, const char *cloud, struct imgboot_vm *v,
		       const char **how, char *err, size_t errlen)
{
	int rc = 0;

	memset(v, 0, sizeof(*v));
	*how = NULL;
	if (!cfg->kernel) {
		if (!cfg->ndisks) {
			snprintf(err, errlen, "no kernel and no disk to boot");
			return -EINVAL;
		}
		if ((rc = image_kernel(cfg, v, err, errlen)) < 0)
			return rc;
		*how = v->image.how;
	}
	if (cloud && *cloud && (rc = cloud_seed(cfg, cloud, v, err, errlen)) < 0)
		imgboot_free(&v->image);
	return rc;
}

void imgboot_vm_release(struct imgboot_vm *v, bool remove_seed)
{
	imgboot_free(&v->image);
	if (remove_seed && v->seed_path[0])
		unlink(v->seed_path);	/* ours, in our runtime directory */
	v->seed_path[0] = 0;
}
