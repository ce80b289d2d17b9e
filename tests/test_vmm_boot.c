/* test_vmm_boot: the loaders against their protocols (Linux boot.rst, multiboot 0.6.96, PVH
 * start_info), and their refusal of corrupt images, with messages that name the file. */
#include "config.h"
#include <elf.h>
#include <errno.h>
#include "tests/testutil.h"
#include "vmm/boot.h"

#define MEM (64ull << 20)

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A bzImage as the build makes it: setup sectors, the "HdrS" header, a protected-mode kernel. */
static uint8_t *make_bzimage(size_t *len, uint16_t version, uint16_t xloadflags)
{
	size_t setup = 2 * 512, kernel = 0x3000;
	uint8_t *b = calloc(1, setup + kernel);

	b[0x1f1] = 1;				/* setup_sects */
	b[0x1fe] = 0x55;
	b[0x1ff] = 0xaa;
	b[0x201] = 0x6a;			/* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	memcpy(b + 0x206, &version, 2);
	b[0x211] = 0x01;			/* LOADED_HIGH */
	uint32_t initrd_max = 0x37ffffff, cmdline_size = 2047, init_size = 0x10000;
	memcpy(b + 0x22c, &initrd_max, 4);
	b[0x234] = 1;				/* relocatable */
	memcpy(b + 0x236, &xloadflags, 2);
	memcpy(b + 0x238, &cmdline_size, 4);
	memcpy(b + 0x260, &init_size, 4);
	memset(b + setup, 0x90, kernel);
	*len = setup + kernel;
	return b;
}

static int load(struct vmm_mem *m, const uint8_t *img, size_t len, const char *initrd,
		const char *cmdline, struct vmm_boot *b, char *err)
{
	struct vmm_boot_opts o = { .kernel = { "test-kernel", img, len },
				   .cmdline = cmdline,
				   .initrd = { "test-initrd", (const uint8_t *)initrd,
					       initrd ? strlen(initrd) : 0 },
				   .initrd_path = "test-initrd" };
	return vmm_boot_load(m, &o, b, err, 512);
}

static void test_bzimage_zero_page(void **state)
{
	struct vmm_mem m;
	struct vmm_boot b;
	char err[512] = "";
	size_t len;
	uint8_t *img = make_bzimage(&len, 0x020f, 0x1);

	(void)state;
	assert_int_equal(vmm_mem_init(&m, MEM), 0);
	assert_int_equal(load(&m, img, len, "INITRD-CONTENT", "console=ttyS0 quiet", &b, err), 0);
	assert_int_equal(b.kind, VMM_BOOT_BZIMAGE);
	assert_int_equal(b.mode, VMM_MODE_LONG64);
	assert_int_equal(b.entry, 0x100200);		/* startup_64 = load address + 0x200 */
	assert_int_equal(b.rsi, BOOT_ZERO_PAGE);
	const uint8_t *zp = vmm_mem_ptr(&m, BOOT_ZERO_PAGE, 4096);
	assert_memory_equal(zp + 0x202, "HdrS", 4);	/* the setup header was copied */
	assert_int_equal(zp[0x210], 0xff);		/* type_of_loader: undefined */
	assert_true(zp[0x211] & 0x80);			/* CAN_USE_HEAP */
	assert_int_equal(rd32(zp + 0x228), BOOT_CMDLINE);
	assert_string_equal((const char *)vmm_mem_ptr(&m, BOOT_CMDLINE, 1), "console=ttyS0 quiet");
	uint32_t rd = rd32(zp + 0x218), rs = rd32(zp + 0x21c);
	assert_int_equal(rs, 14);
	assert_int_equal(rd & 0xfff, 0);		/* page aligned */
	assert_true(rd >= 0x100000 + 0x10000 &&
		    rd + rs <= MEM); /* above the kernel's init_size, inside RAM */
	assert_memory_equal(vmm_mem_ptr(&m, rd, rs), "INITRD-CONTENT", 14);
	/* e820: low RAM, reserved, the BIOS area reserved, RAM from 1 MiB to the end, the PCI ECAM
	 * window reserved (Linux uses MCFG's window only if it is) */
	assert_int_equal(zp[0x1e8], 5);
	assert_int_equal(rd64(zp + 0x2d0), 0);
	assert_int_equal(rd64(zp + 0x2d0 + 8), 0x9fc00);
	assert_int_equal(rd32(zp + 0x2d0 + 16), 1);
	assert_int_equal(rd64(zp + 0x2d0 + 60), 0x100000);
	assert_int_equal(rd64(zp + 0x2d0 + 68), MEM - 0x100000);
	assert_int_equal(rd32(zp + 0x2d0 + 76), 1);
	assert_int_equal(rd64(zp + 0x2d0 + 80), VMM_PCI_ECAM);
	assert_int_equal(rd64(zp + 0x2d0 + 88), VMM_PCI_ECAM_SIZE);
	assert_int_equal(rd32(zp + 0x2d0 + 96), 2);
	/* identity page tables: 2 MiB pages, the first covering the kernel */
	const uint64_t *pml4 = vmm_mem_ptr(&m, b.cr3, 0x6000);
	assert_int_equal(pml4[0] & ~0xfffull, b.cr3 + 0x1000);
	assert_int_equal(pml4[1024], 0x83);
	assert_int_equal(pml4[1024 + 1] & ~0xfffull, 2u << 20);
	vmm_mem_free(&m);
	free(img);
}

static void test_bzimage_refused(void **state)
{
	struct vmm_mem m;
	struct vmm_boot b;
	char err[512] = "";
	size_t len;
	uint8_t *img;

	(void)state;
	assert_int_equal(vmm_mem_init(&m, MEM), 0);
	img = make_bzimage(&len, 0x0206, 0);		/* boot protocol 2.06: no 64-bit entry */
	assert_int_equal(load(&m, img, len, NULL, NULL, &b, err), -ENOEXEC);
	assert_non_null(strstr(err,
			       "test-kernel: this bzImage (boot protocol 2.06) has no 64-bit entry "
			       "point"));
	free(img);
	img = make_bzimage(&len, 0x020f, 1);
	assert_int_equal(load(&m, img, 0x300, NULL, NULL, &b, err),
			 -ENOEXEC); /* truncated in the setup */
	assert_non_null(strstr(err, "truncated bzImage"));
	char big[4096];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(load(&m, img, len, NULL, big, &b, err),
			 -E2BIG); /* longer than cmdline_size */
	free(img);
	vmm_mem_free(&m);
}

/* A multiboot ELF32: header in the first 8 KiB, one PT_LOAD at paddr. */
static uint8_t *make_mb_elf(size_t *len, uint32_t paddr, uint32_t memsz)
{
	size_t size = 0x2000;
	uint8_t *b = calloc(1, size);
	Elf32_Ehdr *eh = (Elf32_Ehdr *)b;
	Elf32_Phdr *ph = (Elf32_Phdr *)(b + sizeof(*eh));
	uint32_t hdr[3] = { 0x1BADB002u, 0, -0x1BADB002u };

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_entry = paddr + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = 0x1000;
	ph->p_paddr = ph->p_vaddr = paddr;
	ph->p_filesz = 0x1000;
	ph->p_memsz = memsz;
	memcpy(b + 0x1000, hdr, sizeof(hdr));
	memset(b + 0x1010, 0xf4, 0x10);
	*len = size;
	return b;
}

static void test_multiboot_info(void **state)
{
	struct vmm_mem m;
	struct vmm_boot b;
	char err[512] = "";
	size_t len;
	uint8_t *img = make_mb_elf(&len, 0x200000, 0x3000);

	(void)state;
	assert_int_equal(vmm_mem_init(&m, MEM), 0);
	assert_int_equal(load(&m, img, len, "ENV=1\n", "arg", &b, err), 0);
	assert_int_equal(b.kind, VMM_BOOT_MULTIBOOT);
	assert_int_equal(b.rax, 0x2BADB002);
	assert_int_equal(b.entry, 0x200010);
	const uint8_t *bss = vmm_mem_ptr(&m, 0x201000, 0x2000);
	for (int i = 0; i < 0x2000; i++)
		assert_int_equal(bss[i], 0);		/* memsz beyond filesz is zeroed */
	const uint8_t *info = vmm_mem_ptr(&m, b.rbx, 52);
	assert_int_equal(rd32(info) & 0x4d, 0x4d);	/* mem, cmdline, mods, mmap */
	assert_int_equal(rd32(info + 4), 639);
	assert_int_equal(rd32(info + 8), (MEM - 0x100000) / 1024);
	assert_string_equal((const char *)vmm_mem_ptr(&m, rd32(info + 16), 1), "test-kernel arg");
	assert_int_equal(rd32(info + 20), 1);		/* one module: the initrd */
	const uint8_t *mod = vmm_mem_ptr(&m, rd32(info + 24), 16);
	assert_int_equal(rd32(mod), 0x203000);		/* page aligned after the kernel's end */
	assert_int_equal(rd32(mod + 4) - rd32(mod), 6);
	assert_string_equal((const char *)vmm_mem_ptr(&m, rd32(mod + 8), 1), "test-initrd");
	assert_int_equal(rd32(info + 44), 5 * 24);	/* mmap_length: 5 entries of 24 bytes */
	vmm_mem_free(&m);
	free(img);
}

/* Images below 1 MiB: the info area and the module never land on the image, nor the module on the
 * info. */
static void test_multiboot_low_images(void **state)
{
	static const struct { uint32_t paddr, memsz; uint64_t info;
	} cases[] = {
		{ 0x4000, 0x5800,
		  0xa000 }, /* covers 0x9000 (kvm-unit-tests' realmode): info after the image */
		{ 0x1000, 0x2000, BOOT_INFO }, /* ends below 0x9000: info where it always is */
	};
	struct vmm_mem m;
	struct vmm_boot b;
	char err[512] = "";
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *img = make_mb_elf(&len, cases[i].paddr, cases[i].memsz);
		uint32_t end = cases[i].paddr + cases[i].memsz;
		assert_int_equal(vmm_mem_init(&m, MEM), 0);
		assert_int_equal(load(&m, img, len, "ENV=1\n", "arg", &b, err), 0);
		assert_int_equal(b.rbx, cases[i].info);
		const uint8_t *info = vmm_mem_ptr(&m, b.rbx, 52);
		const uint8_t *mod = vmm_mem_ptr(&m, rd32(info + 24), 16);
		assert_true(rd32(info + 16) >= b.rbx &&
			    rd32(info + 16) < b.rbx + BOOT_INFO_SIZE); /* cmdline */
		assert_true(rd32(mod) >= end && rd32(mod) >= b.rbx + BOOT_INFO_SIZE);
		assert_string_equal((const char *)vmm_mem_ptr(&m, rd32(mod), 6), "ENV=1\n");
		vmm_mem_free(&m);
		free(img);
	}
}

static void test_multiboot_refused(void **state)
{
	struct vmm_mem m;
	struct vmm_boot b;
	char err[512] = "";
	size_t len;
	uint8_t *img;

	(void)state;
	assert_int_equal(vmm_mem_init(&m, MEM), 0);
	img = make_mb_elf(&len, 0x7fff0000, 0x1000);		/* beyond 64 MiB of RAM */
	assert_int_equal(load(&m, img, len, NULL, NULL, &b, err), -EFAULT);
	assert_non_null(strstr(err,
			       "test-kernel: segment 0 (0x7fff0000-0x7fff1000) is outside guest "
			       "memory"));
	free(img);
	img = make_mb_elf(&len, 0x200000, 0x1000);
	((Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)))->p_filesz =
		0x100000; /* segment beyond the file */
	assert_int_equal(load(&m, img, len, NULL, NULL, &b, err), -ENOEXEC);
	assert_non_null(strstr(err, "lies outside the file"));
	((Elf32_Ehdr *)img)->e_phoff = 0xfffffff0; /* program headers beyond the file */
	assert_int_equal(load(&m, img, len, NULL, NULL, &b, err), -ENOEXEC);
	assert_non_null(strstr(err, "truncated or corrupt ELF"));
	free(img);
	uint8_t junk[64] = "MZ this is not a kernel";
	assert_int_equal(load(&m, junk, sizeof(junk), NULL, NULL, &b, err), -ENOEXEC);
	assert_non_null(strstr(err, "test-kernel: not a kernel nestvisor can boot"));
	vmm_mem_free(&m);
}

/* An ELF64 vmlinux with a PVH note (XEN_ELFNOTE_PHYS32_ENTRY) and no multiboot header. */
static void test_pvh_start_info(void **state)
{
	size_t size = 0x3000;
	uint8_t *b = calloc(1, size);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	uint32_t note[6] = { 4, 4, 18, 0x006e6558 /* "Xen\0" */, 0x1000123, 0 };
	struct vmm_mem m;
	struct vmm_boot bt;
	char err[512] = "";

	(void)state;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_offset = 0x1000,
			      .p_paddr = 0x1000000,
			      .p_filesz = 0x1000,
			      .p_memsz = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x2000, .p_filesz = sizeof(note) - 4 };
	memcpy(b + 0x2000, note, sizeof(note));
	assert_int_equal(vmm_mem_init(&m, MEM), 0);
	assert_int_equal(load(&m, b, size, "RD", "root=/dev/vda", &bt, err), 0);
	assert_int_equal(bt.kind, VMM_BOOT_PVH);
	assert_int_equal(bt.entry, 0x1000123);
	const uint8_t *si = vmm_mem_ptr(&m, bt.rbx, 56);
	assert_int_equal(rd32(si), 0x336ec578);		/* XEN_HVM_START_MAGIC_VALUE */
	assert_int_equal(rd32(si + 4), 1);		/* version */
	assert_int_equal(rd32(si + 12), 1);		/* nr_modules */
	assert_string_equal((const char *)vmm_mem_ptr(&m, rd64(si + 24), 1), "root=/dev/vda");
	assert_int_equal(rd64(si + 32), 0xe0000);	/* rsdp_paddr */
	assert_int_equal(rd32(si + 48), 5);		/* memmap entries */
	note[2] = 17;					/* another note type: no PVH entry left */
	memcpy(b + 0x2000, note, sizeof(note));
	assert_int_equal(load(&m, b, size, NULL, NULL, &bt, err), -ENOEXEC);
	assert_non_null(strstr(err, "neither a multiboot header nor a PVH entry note"));
	vmm_mem_free(&m);
	free(b);
}

static void test_mem_bounds(void **state)
{
	struct vmm_mem m;

	(void)state;
	assert_int_equal(vmm_mem_init(&m, 4ull << 30), 0);	/* 4 GiB: 1 GiB moves above 4 GiB */
	assert_int_equal(m.low, 0xc0000000ull);
	assert_int_equal(m.high, 1ull << 30);
	assert_non_null(vmm_mem_ptr(&m, 0xbffff000, 0x1000));
	assert_null(vmm_mem_ptr(&m, 0xbffff000, 0x1001));	/* into the hole */
	assert_null(vmm_mem_ptr(&m, 0xfee00000, 4));		/* the LAPIC is not RAM */
	assert_non_null(vmm_mem_ptr(&m, 0x100000000ull, 4));
	assert_null(vmm_mem_ptr(&m, 0x13ffffffcull, 8));	/* past the end */
	assert_null(vmm_mem_ptr(&m, UINT64_MAX - 2, 4));	/* wraps around */
	assert_null(vmm_mem_ptr(&m, 0, UINT64_MAX));
	vmm_mem_free(&m);
	assert_int_equal(vmm_mem_init(&m, 12345), -EINVAL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_bzimage_zero_page),
	cmocka_unit_test(test_bzimage_refused),
	cmocka_unit_test(test_multiboot_info),
	cmocka_unit_test(test_multiboot_low_images),
	cmocka_unit_test(test_multiboot_refused),
	cmocka_unit_test(test_pvh_start_info),
	cmocka_unit_test(test_mem_bounds),
};
TEST_MAIN(tests)
