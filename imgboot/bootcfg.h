/* bootcfg: an OS image's boot configuration read as data, never run: GRUB's grub.cfg (its default
 * entry, as GRUB would pick it), Boot Loader Specification entries, and grubenv. Pure text in,
 * bounded structs out; fed hostile text by the fuzzer (fuzz/fuzz_bootcfg.c). Private to
 * imgboot/. */
#ifndef NESTVISOR_IMGBOOT_BOOTCFG_H
#define NESTVISOR_IMGBOOT_BOOTCFG_H

#include <stdbool.h>
#include <stddef.h>

#define BOOTCFG_MAX_TEXT (1u << 20)	/* a grub.cfg or entry larger than this is refused */
#define BOOTCFG_MAX_INITRDS 4
#define BOOTCFG_PATH 512
#define BOOTCFG_ARGS 2048

/* What the chosen entry boots: the kernel and initrds as paths on the device the entry names
 * (search_uuid, search_label or root_part; none: the configuration's own filesystem). */
struct bootcfg_entry {
	char title[256];
	char kernel[BOOTCFG_PATH];
	char args[BOOTCFG_ARGS];
	char initrd[BOOTCFG_MAX_INITRDS][BOOTCFG_PATH];
	int ninitrd;
	char search_uuid[64], search_label[64];
	int root_part;			/* set root='hd0,gpt2': 2; 0: not named */
	bool bls;			/* grub.cfg said blscfg: the entries are BLS files */
};

/* GRUB's variables: its own (grub_platform...), those a configuration sets, and grubenv's (kept
 * apart until load_env). Bounded: 128 variables of up to 4 KiB. */
#define BOOTCFG_VARS 128
struct bootcfg_env {
	int n;
	struct { char name[64]; char *value; bool saved; } v[BOOTCFG_VARS];
};
void bootcfg_env_init(struct bootcfg_env *e);	/* GRUB's own variables, as on a PC */
void bootcfg_env_free(struct bootcfg_env *e);
/* 0, or -E2BIG past the bounds; saved: grubenv's, seen only after load_env */
int bootcfg_env_set(struct bootcfg_env *e, const char *name, const char *value, bool saved);
const char *bootcfg_env_get(const struct bootcfg_env *e, const char *name);
void bootcfg_env_load(struct bootcfg_env *e);	/* load_env: grubenv's variables become GRUB's */
/* grubenv's text (NAME=VALUE lines, '#' padding) into e as saved: 0, or -EINVAL with err */
int bootcfg_grubenv(struct bootcfg_env *e, const char *text, size_t len, char *err, size_t errlen);

/* grub.cfg's default entry, as GRUB picks it: its `default` (an index, a "N>M" path into submenus,
 * a title or id, saved_entry from grubenv), entry 0 when that names none. 0; -ENOENT when it has no
 * entry that boots a kernel (out->bls may still be set); -EINVAL/-E2BIG with err. */
int bootcfg_grub(const char *text, size_t len, struct bootcfg_env *env, struct bootcfg_entry *out,
		 char *err, size_t errlen);

/* One BLS entry file (/loader/entries/NAME.conf): title, version, linux, initrd, options ($var
 * from env). 0, or -ENOENT when it names no kernel. */
int bootcfg_bls(const char *text, size_t len, const struct bootcfg_env *env,
		struct bootcfg_entry *out, char version[128]);

#endif
