/* test_vmm_unpack: a bzImage's kernel unpacked on the host as its own decompressor would (ELF
 * segments, KASLR, relocations), kept in a cache directory that is never trusted blindly, and every
 * bad input turned back to the guest's own decompressor with a note, never a failed boot. */
#include "config.h"
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "tests/testutil.h"
#include "vmm/boot.h"
#include "vmm/unpack.h"

#define MEM (64ull << 20)
#define LINK 0x1000000ull
#define VBASE 0xffffffff81000000ull
#define INIT_SIZE 0x400000u
#define SEG_OFF 0x1000
#define SEG_LEN 0x2000
#define ENTRY_OFF 0x40

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* vmlinux.bin and its relocations as the kernel build appends them: one segment at LINK, holding a
 * 64-bit, a 32-bit and an inverse 32-bit reference to be relocated. tag makes kernels differ. */
static uint8_t *make_vmlinux(size_t *len, uint32_t reloc32, uint32_t tag)
{
	const uint32_t relocs[] = {
		0, 0x81000010, 0, 0x81000030, 0, reloc32 ? reloc32 : 0x81000020
	};
	size_t elf = SEG_OFF + SEG_LEN;
	uint8_t *b = calloc(1, elf + sizeof(relocs));
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = LINK + ENTRY_OFF;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	eh->e_shoff = elf;
	eh->e_shnum = 0;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	ph->p_type = PT_LOAD;
	ph->p_offset = SEG_OFF;
	ph->p_vaddr = VBASE;
	ph->p_paddr = LINK;
	ph->p_filesz = SEG_LEN;
	ph->p_memsz = SEG_LEN + 0x1000;
	ph->p_align = 0x200000;
	uint64_t v64 = VBASE + 0x100;
	uint32_t v32 = 0x81000200;
	int32_t inv = 0x1234;
	memcpy(b + SEG_OFF + 0x10, &v64, 8);
	memcpy(b + SEG_OFF + 0x20, &v32, 4);
	memcpy(b + SEG_OFF + 0x30, &inv, 4);
	memcpy(b + SEG_OFF + 0x50, &tag, 4);
	memcpy(b + elf, relocs, sizeof(relocs));
	*len = elf + sizeof(relocs);
	return b;
}

static size_t compress_xz(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t pos = 0;
	assert_int_equal(
		lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, &pos, cap),
		LZMA_OK);
	return pos;
}

static int gzip_level = 9;

static size_t compress_gzip(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z = { 0 };
	assert_int_equal(
		deflateInit2(&z, gzip_level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
		Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = z.total_out;
	deflateEnd(&z);
	return n;
}

/* A bzImage around a compressed vmlinux.bin: setup header, then payload_offset bytes of
 * decompressor, the payload, and the unpacked length the build appends to it. */
static uint8_t *make_bzimage(size_t *len, const uint8_t *vmlinux, size_t vlen, bool gzip)
{
	size_t setup = 2 * 512, poff = 0x200, cap = vlen + 4096;
	uint8_t *b = calloc(1, setup + poff + cap + 4);
	uint16_t version = 0x020f, xlf = 1;
	uint32_t initrd_max = 0x37ffffff, cmdline_size = 2047, init_size = INIT_SIZE,
		 align = 0x200000;
	uint64_t pref = LINK;

	b[0x1f1] = 1;
	b[0x1fe] = 0x55;
	b[0x1ff] = 0xaa;
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	memcpy(b + 0x206, &version, 2);
	b[0x211] = 0x01;
	memcpy(b + 0x22c, &initrd_max, 4);
	memcpy(b + 0x230, &align, 4);
	b[0x234] = 1;
	memcpy(b + 0x236, &xlf, 2);
	memcpy(b + 0x238, &cmdline_size, 4);
	memcpy(b + 0x258, &pref, 8);
	memcpy(b + 0x260, &init_size, 4);
	memset(b + setup, 0x90, poff);
	size_t c = gzip ? compress_gzip(vmlinux, vlen, b + setup + poff, cap) :
			  compress_xz(vmlinux, vlen, b + setup + poff, cap);
	uint32_t ulen = (uint32_t)vlen, plen = (uint32_t)c + 4, po = (uint32_t)poff;
	memcpy(b + setup + poff + c, &ulen, 4);
	memcpy(b + 0x248, &po, 4);
	memcpy(b + 0x24c, &plen, 4);
	*len = setup + poff + c + 4;
	return b;
}

struct fixture { char dir[256], cache[300]; struct vmm_mem m; };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	test_mkdtemp(f->dir, sizeof(f->dir));
	snprintf(f->cache, sizeof(f->cache), "%s/cache/nestvisor/kernels", f->dir);
	assert_int_equal(vmm_mem_init(&f->m, MEM), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	vmm_mem_free(&f->m);
	test_sh("rm -rf '%s'", f->dir);
	free(f);
	return 0;
}

static int boot_seeded(struct fixture *f, const uint8_t *img, size_t len, const char *cmdline,
		       const char *cache, uint64_t seed, struct vmm_boot *b)
{
	char err[512] = "";
	struct vmm_boot_opts o = { .kernel = { "test-bzImage", img, len },
				   .cmdline = cmdline,
				   .unpack_cache = cache,
				   .kaslr_seed = seed };

	memset(vmm_mem_ptr(&f->m, 0, MEM), 0, MEM);
	int rc = vmm_boot_load(&f->m, &o, b, err, sizeof(err));
	if (rc)
		print_message("# %s\n", err);
	return rc;
}

static int boot(struct fixture *f, const uint8_t *img, size_t len, const char *cmdline,
		const char *cache, struct vmm_boot *b)
{
	return boot_seeded(f, img, len, cmdline, cache, 0, b);
}

/* The image is where the entry says, aligned, and its references were moved by one delta that fits.
 */
static void check_relocated(struct fixture *f, const struct vmm_boot *b, bool kaslr)
{
	uint64_t phys = b->entry - ENTRY_OFF;
	const uint8_t *img = vmm_mem_ptr(&f->m, phys, SEG_LEN);
	const uint8_t *zp = vmm_mem_ptr(&f->m, BOOT_ZERO_PAGE, 0x1000);

	assert_non_null(img);
	assert_int_equal(phys % 0x200000, 0);
	assert_true(phys >= LINK && phys + INIT_SIZE <= MEM);
	uint64_t delta = rd64(img + 0x10) - (VBASE + 0x100);
	assert_int_equal(delta % 0x200000, 0);
	assert_true(delta < (1ull << 30));
	assert_int_equal(rd32(img + 0x20), (uint32_t)(0x81000200 + delta));
	assert_int_equal((int32_t)rd32(img + 0x30), (int32_t)(0x1234 - (uint32_t)delta));
	assert_int_equal(!!(zp[0x211] & 0x2),
			 kaslr); /* KASLR_FLAG: the kernel randomizes its memory too */
	if (!kaslr)
		assert_true(phys == LINK && delta == 0);
	assert_int_equal(b->image_end, phys + INIT_SIZE);
}

static int count_cached(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".v2") && de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void cached_file(const char *dir, char *out, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	out[0] = '\0';
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".v2"))
			snprintf(out, len, "%s/%s", dir, de->d_name);
	if (d)
		closedir(d);
}

static void test_unpack_then_cache(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0, 1), *img = make_bzimage(&len, v, vlen, false);
	struct stat st;
	char file[600];

	assert_int_equal(boot(f, img, len, "console=ttyS0", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED);
	assert_string_equal(b.note, "");
	check_relocated(f, &b, true);
	assert_int_equal(count_cached(f->cache), 1);
	assert_int_equal(stat(f->cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);		/* created private */
	cached_file(f->cache, file, sizeof(file));
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(boot(f, img, len, "console=ttyS0", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_CACHED);
	check_relocated(f, &b, true);

	assert_int_equal(boot(f, img, len, "console=ttyS0 nokaslr quiet", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_CACHED);
	check_relocated(f, &b, false);
	assert_int_equal(boot(f, img, len, "nokaslrx", f->cache, &b),
			 0); /* only the whole word counts */
	check_relocated(f, &b, true);

	assert_int_equal(boot(f, img, len, NULL, NULL, &b),
			 0); /* no cache: the guest decompresses */
	assert_int_equal(b.unpacked, VMM_UNPACK_NONE);
	assert_int_equal(b.entry, 0x100200);
	free(v);
	free(img);
}

static void test_unpack_gzip(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0, 2), *img = make_bzimage(&len, v, vlen, true);

	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED);
	check_relocated(f, &b, true);
	free(v);
	free(img);
}

/* KASLR must actually vary: over 16 boots the kernel lands in more than one place (all in one place
 * has a probability below 1e-20 with this image's 23 physical and 503 virtual slots). */
static void test_unpack_randomizes(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0, 3), *img = make_bzimage(&len, v, vlen, false);
	uint64_t first_phys = 0, first_v = 0;
	bool phys_moved = false, virt_moved = false;

	for (int i = 0; i < 16; i++) {
		assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
		uint64_t phys = b.entry - ENTRY_OFF,
			 virt = rd64((uint8_t *)vmm_mem_ptr(&f->m, phys + 0x10, 8));
		if (i == 0) {
			first_phys = phys;
			first_v = virt;
		}
		phys_moved |= phys != first_phys;
		virt_moved |= virt != first_v;
	}
	assert_true(phys_moved);
	assert_true(virt_moved);
	free(v);
	free(img);
}

/* A placement is named by its seed: a random boot reports the seed it drew, and that seed given
 * back (NESTVISOR_KASLR_SEED, from a crash report) places the kernel exactly the same way; nokaslr
 * and --no-unpack report none. */
static void test_unpack_seed_reproduces(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0, 3), *img = make_bzimage(&len, v, vlen, false);
	bool other = false;

	for (int i = 0; i < 8; i++) {
		assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
		uint64_t seed = b.kaslr_seed, phys = b.entry - ENTRY_OFF,
			 virt = rd64((uint8_t *)vmm_mem_ptr(&f->m, phys + 0x10, 8));
		assert_true(seed != 0);
		assert_int_equal(boot_seeded(f, img, len, "", f->cache, seed, &b), 0);
		assert_true(b.kaslr_seed == seed);
		assert_true(b.entry - ENTRY_OFF == phys);
		assert_true(rd64((uint8_t *)vmm_mem_ptr(&f->m, phys + 0x10, 8)) == virt);
		check_relocated(f, &b, true);
		assert_int_equal(boot_seeded(f, img, len, "", f->cache, seed + 1, &b), 0);
		other |= b.entry - ENTRY_OFF != phys ||
			 rd64((uint8_t *)vmm_mem_ptr(&f->m, b.entry - ENTRY_OFF + 0x10, 8)) != virt;
	}
	assert_true(other); /* another seed, another place (8 tries: not by chance) */
	assert_int_equal(boot_seeded(f, img, len, "nokaslr", f->cache, 42, &b), 0);
	assert_true(b.kaslr_seed == 0);
	assert_int_equal(boot_seeded(f, img, len, "", NULL, 42, &b), 0);
	assert_true(b.kaslr_seed == 0);
	free(v);
	free(img);
}

/* A damaged cache file is not used: the kernel is unpacked again and the file replaced. */
static void test_unpack_bad_cache_file(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0, 4), *img = make_bzimage(&len, v, vlen, false);
	char file[600], target[600];
	struct stat st;

	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	cached_file(f->cache, file, sizeof(file));
	assert_int_equal(truncate(file, 100), 0);
	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED);
	check_relocated(f, &b, true);
	assert_int_equal(stat(file, &st), 0);
	assert_true(st.st_size > 100);

	/* A symlink in its place is not followed, and what it pointed to is not touched. */
	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	test_sh("echo precious > '%s'", target);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(symlink(target, file), 0);
	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));			/* replaced by a real file */
	assert_int_equal(test_sh("grep -qx precious '%s'", target), 0);
	free(v);
	free(img);
}

/* A cache directory we cannot trust is not used; the boot goes on through the guest's decompressor
 * and the note names the directory. */
static void test_unpack_untrusted_dir(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0, 5), *img = make_bzimage(&len, v, vlen, false);
	char link[300], real[300];

	snprintf(real, sizeof(real), "%s/real", f->dir);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	/* a link of another user's (a link of ours, or root's, is followed: no one else made it) */
	if (geteuid() == 0 && lchown(link, 65534, 65534) == 0) {
		assert_int_equal(boot(f, img, len, "", link, &b), 0);
		assert_int_equal(b.unpacked, VMM_UNPACK_NONE);
		assert_int_equal(b.entry, 0x100200);
		assert_non_null(strstr(b.note, link));
		assert_non_null(strstr(b.note, "symbolic link that belongs to uid 65534"));
		assert_int_equal(count_cached(real), 0);
	} else {
		print_message("# not root: a link of another user's cannot be made here\n");
	}

	assert_int_equal(chmod(real, 0777), 0);
	assert_int_equal(boot(f, img, len, "", real, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_NONE);
	assert_non_null(strstr(b.note, "mode 777"));
	assert_int_equal(count_cached(real), 0);
	free(v);
	free(img);
}

/* Relocations that point outside the image, a payload that does not decompress, a length that lies:
 * each is refused before anything is applied, and the bzImage boots as it is. */
static void test_unpack_refuses_bad_kernels(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0x9000000, 6), *img = make_bzimage(&len, v, vlen, false);

	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_NONE);
	assert_int_equal(b.entry, 0x100200);
	assert_non_null(strstr(b.note, "test-bzImage"));
	free(v);
	free(img);

	v = make_vmlinux(&vlen, 0, 7);
	img = make_bzimage(&len, v, vlen, false);
	size_t poff = 1024 + 0x200;
	img[poff + 40] ^= 0xff;					/* inside the compressed data */
	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_NONE);
	assert_non_null(strstr(b.note, "did not decompress"));
	img[poff + 40] ^= 0xff;
	uint32_t huge = 0xfffffff0; /* unpacked length beyond guest memory */
	memcpy(img + len - 4, &huge, 4);
	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_NONE);
	uint32_t off = 0x7fffffff;				/* payload_offset past the file */
	memcpy(img + 0x248, &off, 4);
	assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_NONE);
	free(v);
	free(img);
}

/* The 4 bytes at off that give d the CRC-32 want: CRC-32 is affine in the message's bits, so the
 * bits' effects are solved for over GF(2), as an attacker forging a gzip trailer would. */
static void crc_forge(uint8_t *d, size_t len, size_t off, uint32_t want)
{
	uint32_t basis[32] = { 0 }, comb[32] = { 0 }, base, t, x = 0;

	memset(d + off, 0, 4);
	base = (uint32_t)crc32(0, d, (uInt)len);
	for (int i = 0; i < 32; i++) {
		d[off + i / 8] = (uint8_t)(1u << (i % 8));
		uint32_t v = (uint32_t)crc32(0, d, (uInt)len) ^ base, c = 1u << i;
		d[off + i / 8] = 0;
		for (int b = 31; b >= 0 && v; b--) {
			if (!(v >> b & 1))
				continue;
			if (!basis[b]) {
				basis[b] = v;
				comb[b] = c;
				break;
			}
			v ^= basis[b];
			c ^= comb[b];
		}
	}
	t = want ^ base;
	for (int b = 31; b >= 0; b--)
		if (t >> b & 1) {
			assert_true(basis[b] != 0);
			t ^= basis[b];
			x ^= comb[b];
		}
	memcpy(d + off, &x, 4);
	assert_int_equal((uint32_t)crc32(0, d, (uInt)len), want);
}

/* Two kernels whose payloads have the same length, the same first and last 4 KiB and the same
 * CRC-32 (the middle differs, 4 bytes of it forged): the old cache key (those) was one for both, so
 * booting the second ran the first. Each now boots itself. */
static void test_unpack_cache_not_poisoned(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, la, lb;
	uint8_t *va = make_vmlinux(&vlen, 0, 20), *vb = malloc(vlen);
	const size_t tag = SEG_OFF + 0x50, forge = SEG_OFF + 0x60, span = 4096;

	memcpy(vb, va, vlen);
	vb[tag] = 21;
	crc_forge(vb, vlen, forge, (uint32_t)crc32(0, va, (uInt)vlen));
	gzip_level = 0;	/* stored: the compressed middle is the kernel's middle */
	uint8_t *a = make_bzimage(&la, va, vlen, true), *bz = make_bzimage(&lb, vb, vlen, true);
	gzip_level = 9;
	/* the premise: what the old key read is the same in both */
	assert_int_equal(la, lb);
	assert_memory_equal(a, bz, 1024 + 0x200 + span);
	assert_memory_equal(a + la - span, bz + lb - span, span);
	assert_memory_not_equal(a, bz, la);

	assert_int_equal(boot(f, a, la, "nokaslr", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED);
	assert_int_equal(*(uint8_t *)vmm_mem_ptr(&f->m, LINK + 0x50, 1), 20);
	assert_int_equal(boot(f, bz, lb, "nokaslr", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED); /* not the other's cache file */
	assert_int_equal(*(uint8_t *)vmm_mem_ptr(&f->m, LINK + 0x50, 1), 21);
	assert_int_equal(boot(f, bz, lb, "nokaslr", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_CACHED);
	assert_int_equal(*(uint8_t *)vmm_mem_ptr(&f->m, LINK + 0x50, 1), 21);
	assert_int_equal(boot(f, a, la, "nokaslr", f->cache, &b), 0);
	assert_int_equal(*(uint8_t *)vmm_mem_ptr(&f->m, LINK + 0x50, 1), 20);
	assert_int_equal(count_cached(f->cache), 2);
	free(va);
	free(vb);
	free(a);
	free(bz);
}

/* A cache file whose content changed under an intact header (a flipped bit, a tampered byte) is not
 * used: its SHA-256 is checked before every use. */
static void test_unpack_cache_content_checked(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;
	size_t vlen, len;
	uint8_t *v = make_vmlinux(&vlen, 0, 30), *img = make_bzimage(&len, v, vlen, false);
	char file[600];

	assert_int_equal(boot(f, img, len, "nokaslr", f->cache, &b), 0);
	cached_file(f->cache, file, sizeof(file));
	int fd = open(file, O_RDWR);
	struct stat st;
	assert_true(fd >= 0 && fstat(fd, &st) == 0);
	uint8_t x = 99;	/* the tag, inside the unpacked kernel at the end of the header */
	assert_int_equal(pwrite(fd, &x, 1, st.st_size - (off_t)vlen + SEG_OFF + 0x50), 1);
	close(fd);
	assert_int_equal(boot(f, img, len, "nokaslr", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED);
	assert_int_equal(*(uint8_t *)vmm_mem_ptr(&f->m, LINK + 0x50, 1), 30);
	assert_int_equal(boot(f, img, len, "nokaslr", f->cache, &b), 0);
	assert_int_equal(b.unpacked, VMM_UNPACK_CACHED);	/* replaced by a good one */
	free(v);
	free(img);
}

/* The cache keeps the four most recently booted kernels. */
static void test_unpack_cache_trim(void **state)
{
	struct fixture *f = *state;
	struct vmm_boot b;

	for (uint32_t tag = 10; tag < 16; tag++) {
		size_t vlen, len;
		uint8_t *v = make_vmlinux(&vlen, 0, tag), *img = make_bzimage(&len, v, vlen, false);
		assert_int_equal(boot(f, img, len, "", f->cache, &b), 0);
		assert_int_equal(b.unpacked, VMM_UNPACK_DECOMPRESSED);
		usleep(10000);	/* distinct modification times */
		free(v);
		free(img);
	}
	assert_int_equal(count_cached(f->cache), 4);
}

static void test_unpack_cache_dir(void **state)
{
	char buf[512];

	(void)state;
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	vmm_unpack_cache_dir(buf, sizeof(buf));
	assert_string_equal(buf, "/x/cache/nestvisor/kernels");
	setenv("XDG_CACHE_HOME", "relative", 1); /* the spec: relative paths are ignored */
	setenv("HOME", "/home/u", 1);
	vmm_unpack_cache_dir(buf, sizeof(buf));
	assert_string_equal(buf, "/home/u/.cache/nestvisor/kernels");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");	/* the password database's home, never the current directory */
	vmm_unpack_cache_dir(buf, sizeof(buf));
	struct passwd *pw = getpwuid(geteuid());
	char want[600];
	snprintf(want, sizeof(want), "%s/.cache/nestvisor/kernels",
		 pw && pw->pw_dir ? pw->pw_dir : "");
	assert_string_equal(buf, pw && pw->pw_dir && pw->pw_dir[0] == '/' ? want : "");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_unpack_then_cache, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_gzip, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_seed_reproduces, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_randomizes, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_bad_cache_file, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_untrusted_dir, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_refuses_bad_kernels, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_cache_trim, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_cache_not_poisoned, setup, teardown),
	cmocka_unit_test_setup_teardown(test_unpack_cache_content_checked, setup, teardown),
	cmocka_unit_test(test_unpack_cache_dir),
};

TEST_MAIN(tests)
