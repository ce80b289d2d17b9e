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
#include "common/safefile.h"
#include "common/trustpath.h"
#include "vmm/unpack.h"
#include "vmm/vm.h"

static int read_file(const char *path, uint8_t **data, size_t *len, size_t max, char *err,
		     size_t errlen)
{
	struct stat st;
	char why[1024];
	/* never through another user's link or directory, and never a FIFO's wait */
	int fd = trustpath_open_regular(path, &st, why, sizeof(why)), rc;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s%s", path, why,
			 fd == -EINVAL ? " (give a kernel or initrd file)" : "");
		return fd;
	}
	rc = safefile_read_all(fd, max, (char **)data, len);
	close(fd);
	if (rc == -EFBIG)
		snprintf(err, errlen,
			 "%s: %lld bytes is larger than guest memory (give the guest more memory)",
			 path, (long long)st.st_size);
	else if (rc < 0)
		snprintf(err, errlen, "%s: could not be read (%s)", path, strerror(-rc));
	return rc;
}

/* bytes given, not a file: copied, so that they are freed as a file's are */
static int given(const uint8_t *src, size_t n, const char *name, uint64_t max, uint8_t **data,
		 size_t *len, char *err, size_t errlen)
{
	if (n > max) {
		snprintf(err, errlen,
			 "%s: %zu bytes is larger than guest memory (give the guest more memory)",
			 name, n);
		return -EFBIG;
	}
	if (!(*data = malloc(n ? n : 1))) {
		snprintf(err, errlen, "%s: %zu bytes: out of memory", name, n);
		return -ENOMEM;
	}
	memcpy(*data, src, n);
	*len = n;
	return 0;
}

int vmm_inputs_read(struct vmm *vm, struct vmm_inputs *in, char *err, size_t errlen)
{
	int rc;

	if (vm->cfg.kernel_data) {
		if ((rc = given(vm->cfg.kernel_data, vm->cfg.kernel_len, vm->cfg.kernel, vm->cfg.mem,
				&in->kernel, &in->klen, err, errlen)) < 0)
			return rc;
		return vm->cfg.initrd_data ?
			       given(vm->cfg.initrd_data, vm->cfg.initrd_len, vm->cfg.initrd,
				     vm->cfg.mem, &in->initrd, &in->ilen, err, errlen) :
			       0;
	}
	if ((rc = read_file(vm->cfg.kernel, &in->kernel, &in->klen, vm->cfg.mem, err, errlen)) < 0)
		return rc;
	if (vm->cfg.initrd &&
	    (rc = read_file(vm->cfg.initrd, &in->initrd, &in->ilen, vm->cfg.mem, err, errlen)) < 0)
		return rc;
	return 0;
}

/* NESTVISOR_KASLR_SEED: the seed a crash report gave, to boot a kernel at the same place again */
static int kaslr_seed(uint64_t *seed, char *err, size_t errlen)
{
	const char *e = getenv("NESTVISOR_KASLR_SEED");
	char *end;

	*seed = 0;
	if (!e || !*e)
		return 0;
	errno = 0;
	*seed = strtoull(e, &end, 10);
	if (errno || *end || *seed == 0 || *e == '-') {
		snprintf(err, errlen,
			 "NESTVISOR_KASLR_SEED=%.32s is not a seed: give the positive decimal "
			 "number a crash report printed, or unset it",
			 e);
		return -EINVAL;
	}
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
	if ((rc = kaslr_seed(&o.kaslr_seed, err, errlen)) < 0)
		return rc;
	rc = vmm_boot_load(&vm->mem, &o, &vm->boot, err, errlen);
	if (rc == 0 && vm->boot.note[0])
		vmm_warn(vm, "%s", vm->boot.note);
	if (rc == 0 && o.kaslr_seed && vm->boot.kaslr_seed)
		vmm_warn(vm,
			 "the kernel's KASLR placement comes from NESTVISOR_KASLR_SEED=%llu, not "
			 "from a random draw: unset it for a guest you depend on",
			 (unsigned long long)o.kaslr_seed);
	return rc;
}

void vmm_inputs_free(struct vmm_inputs *in)
{
	free(in->kernel);
	free(in->initrd);
	in->kernel = in->initrd = NULL;
}
