/* load: the kernel's and initrd's files, read before anything else is set up (a path refused, a
 * FIFO given, a file too large is said at once, KVM or not), then loaded into guest memory. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/trustpath.h"
#include "vmm/unpack.h"
#include "vmm/vm.h"

static int read_file(const char *path, uint8_t **data, size_t *len, size_t max, char *err,
		     size_t errlen)
{
	struct stat st;
	char why[1024];
	/* never through another user's link or directory; O_NONBLOCK: a FIFO is refused, not
	 * waited on */
	int fd = trustpath_open(path, O_RDONLY | O_NONBLOCK, 0, why, sizeof(why));

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return fd == -EPERM ? -EPERM : -ENOENT;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (give a kernel or initrd file)",
			 path);
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if ((uint64_t)st.st_size > max) {
		snprintf(err, errlen,
			 "%s: %lld bytes is larger than guest memory (give the guest more memory)",
			 path, (long long)st.st_size);
		close(fd);
		return -EFBIG;
	}
	*len = (size_t)st.st_size;
	*data = malloc(*len ? *len : 1);
	size_t got = 0;
	while (*data && got < *len) {
		ssize_t n = read(fd, *data + got, *len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!*data || got != *len) {
		snprintf(err, errlen, "%s: could not be read", path);
		free(*data);
		*data = NULL;
		return -EIO;
	}
	return 0;
}

int vmm_inputs_read(struct vmm *vm, struct vmm_inputs *in, char *err, size_t errlen)
{
	int rc;

	if ((rc = read_file(vm->cfg.kernel, &in->kernel, &in->klen, vm->cfg.mem, err, errlen)) < 0)
		return rc;
	if (vm->cfg.initrd &&
	    (rc = read_file(vm->cfg.initrd, &in->initrd, &in->ilen, vm->cfg.mem, err, errlen)) < 0)
		return rc;
	return 0;
}

int vmm_inputs_load(struct vmm *vm, const struct vmm_inputs *in, char *err, size_t errlen)
{
	struct vmm_boot_opts o = { .cmdline = vm->cfg.cmdline,
				   .initrd_path = vm->cfg.initrd,
				   .flat = vm->cfg.flat,
				   .load_addr = vm->cfg.load_addr,
				   .entry = vm->cfg.entry };
	int rc;

	o.kernel.path = vm->cfg.kernel;
	o.kernel.data = in->kernel;
	o.kernel.len = in->klen;
	o.initrd.data = in->initrd;
	o.initrd.len = in->ilen;
	o.initrd.path = vm->cfg.initrd;
	char cache[4096];
	vmm_unpack_cache_dir(cache, sizeof(cache));
	o.unpack_cache = vm->cfg.no_unpack ? NULL : cache;
	rc = vmm_boot_load(&vm->mem, &o, &vm->boot, err, errlen);
	if (rc == 0 && vm->boot.note[0])
		vmm_warn(vm, "%s", vm->boot.note);
	return rc;
}

void vmm_inputs_free(struct vmm_inputs *in)
{
	free(in->kernel);
	free(in->initrd);
	in->kernel = in->initrd = NULL;
}
