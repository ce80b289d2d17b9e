/* unpack: a bzImage's compressed kernel (vmlinux.bin and its relocation table, as the kernel's
 * build packed them), decompressed once on the host and kept in the user's cache, so that later
 * boots skip the guest's own decompressor: it is half of a Debian kernel's boot (2.4 of 4.8 s under
 * kvm_amd in tests/svmhost). */
#ifndef NESTVISOR_VMM_UNPACK_H
#define NESTVISOR_VMM_UNPACK_H

#include <stddef.h>
#include <stdint.h>

enum vmm_unpack_from { VMM_UNPACK_NONE, VMM_UNPACK_DECOMPRESSED, VMM_UNPACK_CACHED };

struct vmm_unpacked {
	enum vmm_unpack_from from;
	size_t len;			/* vmlinux.bin followed by its relocations */
	uint8_t *buf;			/* decompressed, or read from the cache and checked */
};

/* The cache directory: $XDG_CACHE_HOME/nestvisor/kernels, else ~/.cache/nestvisor/kernels; "" when
 * neither. */
void vmm_unpack_cache_dir(char *buf, size_t len);
/* Finds the payload's kernel in cache_dir (by the SHA-256 of the whole payload, its content checked
 * against the SHA-256 stored with it), or decompresses it (xz or gzip) and stores it there. max
 * bounds the decompressed size. Returns 0, or -ENOTSUP when the caller should boot the bzImage as
 * it is (another format, no usable cache): why then says why, for a warning, or is "" when there is
 * nothing worth saying. */
int vmm_unpack(const char *cache_dir, const uint8_t *payload, size_t len, uint64_t max,
	       struct vmm_unpacked *u, char *why, size_t whylen);
/* Copies [off, off + n) of the unpacked kernel to dst; -EIO when it is not all there. */
int vmm_unpack_read(const struct vmm_unpacked *u, void *dst, size_t n, uint64_t off);
void vmm_unpack_release(struct vmm_unpacked *u);

#endif
