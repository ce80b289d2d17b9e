/* guest.h: the freestanding runtime of the project's test guests (ring 0, 32-bit, no paging). */
#ifndef NESTVISOR_GUEST_H
#define NESTVISOR_GUEST_H

#include <stdint.h>

#define MB_MAGIC 0x2BADB002u

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));
struct mb_module { uint32_t start, end, string, reserved; } __attribute__((packed));
struct mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void mmio_write32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uint32_t a) { return *(volatile uint32_t *)a; }

int guest_main(uint32_t magic, struct mb_info *mb);
void guest_exit(int code) __attribute__((noreturn));
void putc_serial(char c);
void puts_serial(const char *s);
void put_dec(uint32_t v);
void put_hex(uint32_t v);
int getc_serial(void);
int str_eq(const char *a, const char *b);
const char *str_find(const char *hay, const char *needle);
uint32_t parse_dec(const char *s);
uint32_t fwcfg_read(uint16_t key, int bytes);
/* bytes of the item after skipping skip of them */
uint32_t fwcfg_read_at(uint16_t key, int skip, int bytes);
/* The ACPI FADT, found through the RSDP in the BIOS area as an OS finds it (NULL: none), and its PM timer port. */
const uint32_t *acpi_fadt(void);
uint16_t acpi_pm_timer_port(void);
/* Enters long mode and runs fn(arg) in 64-bit ring 3 with IOPL 3 (ring3.S); never returns. Ring 3 runs
 * natively even on a software KVM, so heavy loops belong there. fn is a 64-bit routine from ring3.S. */
void enter_ring3(const void *fn, uint32_t arg) __attribute__((noreturn));
extern const char user_portloop[], user_fault[];

#endif
