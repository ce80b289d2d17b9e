/* imgboot: boot what an OS image holds. Its partitions (libblkid), its ext2/3/4 filesystems
 * (libext2fs) and its boot configuration (GRUB's grub.cfg, BLS entries, Debian's /vmlinuz links)
 * are read in a confined process of their own (no privileges, seccomp, bounded memory and time),
 * which hands back only the kernel, the initramfs and the command line: the image is hostile input
 * parsed as root. */
#ifndef NESTVISOR_IMGBOOT_IMGBOOT_H
#define NESTVISOR_IMGBOOT_IMGBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMGBOOT_MAX_KERNEL (256u << 20)
#define IMGBOOT_MAX_INITRD (1u << 30)

struct imgboot {
	uint8_t *kernel, *initrd;
	size_t klen, ilen;
	char cmdline[4096];
	char kernel_path[600], initrd_path[600];	/* "IMAGE:2:/boot/vmlinuz-6.1.0-28-amd64" */
	char how[600];	/* where it came from: "GRUB's default entry 'Debian GNU/Linux' (...)" */
};

/* The boot files of the image open at fd (named image in messages), read by a confined copy of
 * this program (reader: its path, or NULL for /proc/self/exe; it must call
 * imgboot_reader_main when run as `PROGRAM __imgboot-reader`). 0, or -errno with err naming the
 * image, what it holds and what to do. */
int imgboot_find(const char *image, int fd, const char *reader, struct imgboot *b, char *err,
		 size_t errlen);
void imgboot_free(struct imgboot *b);

/* The reader's side: argv[1] is "__imgboot-reader"; the image is fd 3, the answer goes to fd 4.
 * Returns the process's exit status. */
int imgboot_reader_main(int argc, char **argv);
#define IMGBOOT_READER_ARG "__imgboot-reader"

/* The command line an image's own is given: console=ttyS0 added unless it names a serial
 * console, extra (the user's) after it. */
void imgboot_cmdline(const char *own, const char *extra, char *out, size_t outlen);

/* --cloud-init ssh-key=FILE,user=NAME,password=WORD,user-data=FILE: cloud-init's NoCloud seed.
 * The files are read (never through another user's link) and checked when parsed; the password is
 * kept only as its crypt hash. */
struct imgboot_seed {
	char user[33];
	char ssh_keys[64 << 10];
	char password_hash[160];
	char *user_data;		/* user-data=FILE's text, given as it is */
};
int imgboot_seed_parse(const char *spec, struct imgboot_seed *s, char *err, size_t errlen);
void imgboot_seed_free(struct imgboot_seed *s);
/* The seed disk (ISO 9660, volume cidata) written to path (created 0600, never through a link). */
int imgboot_seed_write(const struct imgboot_seed *s, const char *name, const char *path,
		       char *err, size_t errlen);

/* A VM's configuration completed (vmboot.c), for `nestvisor run` and the TUI alike: with no kernel,
 * the first disk's own (cfg's kernel, initrd and command line then point into v); with cloud (the
 * --cloud-init text, or NULL) the seed disk added. v must outlive the VM's set-up. *how: where the
 * kernel came from, or NULL. 0, or -errno with err. */
struct vmm_config;
struct imgboot_vm {
	struct imgboot image;
	struct imgboot_seed seed;
	char cmdline[5120];
	char seed_path[4096];
};
int imgboot_vm_prepare(struct vmm_config *cfg, const char *cloud, struct imgboot_vm *v,
		       const char **how, char *err, size_t errlen);
/* The image's bytes freed; the seed removed too when the VM is over (or never started). */
void imgboot_vm_release(struct imgboot_vm *v, bool remove_seed);

#endif
