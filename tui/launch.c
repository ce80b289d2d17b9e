/* launch: the VMs screen's launch form (kernel and initrd with a file picker, or no kernel: the
 * first disk's own; disks, cloud-init, command line, memory, vCPUs, nested auto/on/off, greyed with
 * the probe's reason where this host cannot have it) and the
 * launch itself: `nestvisor run --detach` as its own process, so a VM that crashes never takes the
 * TUI with it. */
#include "config.h"
#include <curses.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "compat-db/compatdb.h"
#include "nested/nested.h"
#include "probe/probe.h"
#include "tui/crt.h"
#include "tui/screens.h"
#include "vmm/vmm.h"
#include "imgboot/imgboot.h"
#include "common/imagefmt.h"

enum field {
	F_KERNEL,
	F_INITRD,
	F_DISKS,
	F_CLOUD,
	F_NET,
	F_CMDLINE,
	F_MEM,
	F_CPUS,
	F_NESTED,
	F_DEVICES,
	F_LAUNCH,
	F_COUNT
};

#define LAUNCH_FIELD(m) offsetof(struct tui, launch.m), sizeof(((struct tui *)0)->launch.m)
static const struct {
	const char *label, *hint;
	size_t off, len;	/* the value's place in struct tui; len 0: not a text field */
	bool file;
} fields[F_COUNT] = {
	[F_KERNEL] = { "Kernel", "bzImage, PVH ELF, multiboot (Ctrl-O); empty: the first disk's own",
		       LAUNCH_FIELD(kernel), true },
	[F_INITRD] = { "Initrd", "optional (Ctrl-O browses)", LAUNCH_FIELD(initrd), true },
	[F_DISKS] = { "Disks", "images, space between: FILE[,ro] (virtio-blk; Ctrl-O)",
		      LAUNCH_FIELD(disks), true },
	[F_CLOUD] = { "Cloud-init", "optional: ssh-key=FILE,user=NAME,password=WORD (a cloud image)",
		      LAUNCH_FIELD(cloud), false },
	[F_NET] = { "Network", "user[,hostfwd=tcp:2222-:22] or tap=NAME (virtio-net)",
		    LAUNCH_FIELD(net), false },
	[F_CMDLINE] = { "Command line", "optional", LAUNCH_FIELD(cmdline), false },
	[F_MEM] = { "Memory", "e.g. 128M, 2G", LAUNCH_FIELD(mem), false },
	[F_CPUS] = { "vCPUs", "1 or more", LAUNCH_FIELD(cpus), false },
	[F_NESTED] = { "Nested", "Space, Left, Right choose; auto: on where the host allows", 0, 0,
		       false },
	[F_DEVICES] = { "Devices", "host PCI devices to pass through, space between: 01:00.0 (VFIO; "
			"the Devices screen's p and b)", LAUNCH_FIELD(devices), false },
	[F_LAUNCH] = { "[ Launch ]", "Enter or F7 launches (from any field); Esc cancels", 0, 0,
		       false },
};

static struct {
	bool open;
	int field;
} form;

/* The file picker: one directory at a time, directories first. */
#define PICK_MAX 2048
static struct {
	bool open;
	char dir[PATH_MAX];
	char *name[PICK_MAX];
	bool is_dir[PICK_MAX];
	long long size[PICK_MAX];
	const char *kind[PICK_MAX];	/* for the Disks field: what an image is */
	int n, sel, scroll;
	char why[160], typed[64];
	double typed_ms;
} pick;

bool tui_launch_open(void)
{
	return form.open;
}

void tui_launch_close(void)
{
	form.open = pick.open = false;
}

static char *value(struct tui *t, int f)
{
	return (char *)t + fields[f].off;
}

int tui_vms_launch(struct tui *t)
{
	form.open = true;
	form.field = F_KERNEL;
	t->message[0] = '\0';
	return TUI_REDRAW;
}

/* ---- the file picker ---- */

static void pick_free(void)
{
	for (int i = 0; i < pick.n; i++)
		free(pick.name[i]);
	pick.n = 0;
}

static int pick_cmp(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;

	if (pick.is_dir[i] != pick.is_dir[j])
		return pick.is_dir[i] ? -1 : 1;
	return strcmp(pick.name[i], pick.name[j]);
}

/* What a file is as a disk, from its first and last bytes: a raw disk with a partition table, a
 * filesystem, a format to import, or NULL (not one we can tell). Never through a link, never a
 * FIFO's wait. */
static const char *disk_kind(const char *path, long long size)
{
	uint8_t head[IMAGEFMT_HEAD], tail[IMAGEFMT_TAIL];
	const char *kind = NULL;
	int fd;

	if (size < (1 << 20) || (fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return NULL;
	if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    pread(fd, tail, sizeof(tail), size - (long long)sizeof(tail)) == (ssize_t)sizeof(tail)) {
		const struct imagefmt *f = imagefmt_detect(head, sizeof(head), tail);
		if (f)
			kind = f->qemu ? "import it first" : "not a disk";
		else if (!memcmp(head + 512, "EFI PART", 8))
			kind = "disk, GPT";
		else if (head[510] == 0x55 && head[511] == 0xaa)
			kind = "disk, MBR";
		else if (head[1080] == 0x53 && head[1081] == 0xef)
			kind = "ext2/3/4";
	}
	close(fd);
	return kind;
}

static void pick_load(const char *dir)
{
	char real[PATH_MAX], path[PATH_MAX * 2];
	int order[PICK_MAX];
	char *name[PICK_MAX];
	bool is_dir[PICK_MAX];
	long long size[PICK_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (!realpath(dir, real) || !(d = opendir(real))) {
		snprintf(pick.why, sizeof(pick.why), "%.100s: %s", dir, strerror(errno));
		return;
	}
	pick_free();
	pick.why[0] = '\0';
	snprintf(pick.dir, sizeof(pick.dir), "%s", real);
	if (strcmp(real, "/")) {
		pick.name[pick.n] = strdup("..");
		pick.is_dir[pick.n] = true;
		pick.size[pick.n++] = 0;
	}
	while ((de = readdir(d)) && pick.n < PICK_MAX) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", real, de->d_name);
		if (stat(path, &sb) < 0)
			continue;
		pick.name[pick.n] = strdup(de->d_name);
		pick.is_dir[pick.n] = S_ISDIR(sb.st_mode);
		pick.size[pick.n++] = (long long)sb.st_size;
	}
	closedir(d);
	/* ".." stays first; the rest: directories, then files, by name */
	int first = strcmp(real, "/") ? 1 : 0;
	for (int i = 0; i < pick.n; i++)
		order[i] = i;
	qsort(order + first, (size_t)(pick.n - first), sizeof(int), pick_cmp);
	for (int i = 0; i < pick.n; i++) {
		name[i] = pick.name[order[i]];
		is_dir[i] = pick.is_dir[order[i]];
		size[i] = pick.size[order[i]];
	}
	memcpy(pick.name, name, sizeof(char *) * (size_t)pick.n);
	memcpy(pick.is_dir, is_dir, sizeof(bool) * (size_t)pick.n);
	memcpy(pick.size, size, sizeof(long long) * (size_t)pick.n);
	for (int i = 0; i < pick.n; i++) {	/* the first screenfuls of a directory of images */
		snprintf(path, sizeof(path), "%s/%s", real, pick.name[i]);
		pick.kind[i] = form.field == F_DISKS && !pick.is_dir[i] && i < 256 ?
				       disk_kind(path, pick.size[i]) : NULL;
	}
	pick.sel = pick.scroll = 0;
	pick.open = true;
}

/* Opens where the field's path points (its directory), else the current directory. */
static void pick_open(struct tui *t)
{
	char dir[PATH_MAX];
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s", value(t, form.field));
	if (!dir[0] || stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		else if (slash)
			dir[1] = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
	}
	pick_load(dir);
	if (!pick.open)
		pick_load(".");
}

static int pick_key(struct tui *t, int key)
{
	int page = t->rows - 10;

	if (key == 27) {
		pick.open = false;
	} else if (key == KEY_UP || key == KEY_DOWN || key == KEY_PPAGE || key == KEY_NPAGE ||
		   key == KEY_HOME || key == KEY_END) {
		static const struct { int key, step;
		} moves[] = {
			{ KEY_UP, -1 },
			{ KEY_DOWN, 1 },
			{ KEY_HOME, -PICK_MAX },
			{ KEY_END, PICK_MAX },
		};
		int step = key == KEY_PPAGE ? -page : page;	/* PgUp, PgDn: a page */
		for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
			if (moves[i].key == key)
				step = moves[i].step;
		pick.sel += step;
		if (pick.sel >= pick.n)
			pick.sel = pick.n - 1;
		if (pick.sel < 0)
			pick.sel = 0;
	} else if (key == KEY_BACKSPACE || key == 127 || key == 8 || key == KEY_LEFT) {
		char up[PATH_MAX + 4];
		snprintf(up, sizeof(up), "%s/..", pick.dir);
		pick_load(up);
	} else if (key > 32 && key < 127 &&
		   key != '/') { /* typing finds: the first entry starting so */
		size_t n = tui_now_ms() - pick.typed_ms > 1000 ? 0 : strlen(pick.typed);
		if (n + 1 < sizeof(pick.typed)) {
			pick.typed[n] = (char)key;
			pick.typed[n + 1] = '\0';
		}
		pick.typed_ms = tui_now_ms();
		for (int k = 0; k < pick.n; k++)
			if (!strncmp(pick.name[k], pick.typed, strlen(pick.typed))) {
				pick.sel = k;
				break;
			}
	} else if ((key == '\n' || key == KEY_ENTER || key == KEY_RIGHT) && pick.n) {
		char path[PATH_MAX * 2];
		snprintf(path, sizeof(path), "%s/%s", pick.dir, pick.name[pick.sel]);
		if (pick.is_dir[pick.sel]) {
			pick_load(path);
		} else if (key != KEY_RIGHT) {
			snprintf(value(t, form.field), fields[form.field].len, "%s", path);
			pick.open = false;
		}
	}
	return TUI_REDRAW;
}

static void pick_draw(struct tui *t, int top, int left, int width)
{
	int rows = t->rows - 5 - top;
	char size[16], line[PATH_MAX];

	crt_fill(top, ROLE_HEADER);
	crt_text(top++, left, ROLE_HEADER, width, " choose a file in %s", pick.dir);
	crt_text(t->rows - 3, left, ROLE_DIM, width,
		 " Enter opens or chooses, Backspace goes up, typing finds a name, Esc closes");
	if (pick.sel < pick.scroll)
		pick.scroll = pick.sel;
	if (pick.sel >= pick.scroll + rows)
		pick.scroll = pick.sel - rows + 1;
	for (int i = pick.scroll; i < pick.n && i < pick.scroll + rows; i++) {
		tui_count(size, sizeof(size), (unsigned long long)pick.size[i]);
		tui_fit(line, sizeof(line), pick.name[i], width - 32);
		int role = i == pick.sel ? ROLE_SELECTED : pick.is_dir[i] ? ROLE_NOTE : ROLE_DEFAULT;
		crt_text(top++, left, role, width, " %-*s%s %-17s %8s ", width - 32, line,
			 pick.is_dir[i] ? "/" : " ",
			 pick.kind[i] ? pick.kind[i] : "", pick.is_dir[i] ? "" : size);
	}
	if (pick.why[0])
		crt_text(t->rows - 4, left, ROLE_WARN, 0, " %s", pick.why);
}

/* ---- the form ---- */

/* Why nested cannot be chosen here (the probe's own reason), or NULL when it can. */
static const char *nested_why(struct tui *t)
{
	if (!t->report)
		return "waiting for the probe to say whether this host can run nested guests";
	return t->report->summary.nested ? NULL : t->report->summary.nested_why;
}

static bool selectable(struct tui *t, int f)
{
	return f != F_NESTED || !nested_why(t);
}

static const enum nested_mode nested_order[] = { NESTED_AUTO, NESTED_ON, NESTED_OFF };

static void nested_step(struct tui *t, int step)
{
	int i = 0;

	while (i < 3 && (int)nested_order[i] != t->launch.nested)
		i++;
	t->launch.nested = (int)nested_order[(i + step + 3) % 3];
}

static void launch(struct tui *t);

int tui_launch_key(struct tui *t, int key)
{
	if (pick.open)
		return pick_key(t, key);
	char *v = fields[form.field].len ? value(t, form.field) : NULL;
	size_t n = v ? strlen(v) : 0;
	int step = 0;

	if (key == 27) {
		form.open = false;
		snprintf(t->message, sizeof(t->message), "launch cancelled");
	} else if (key == KEY_F(7) || key == '\n' || key == KEY_ENTER) {
		launch(t);	/* from any field, as the form says: a form's Enter submits it */
	} else if (form.field == F_NESTED && (key == ' ' || key == KEY_RIGHT || key == KEY_LEFT)) {
		nested_step(t, key == KEY_LEFT ? -1 : 1);
	} else if (key == KEY_UP || key == KEY_BTAB) {
		step = -1;
	} else if (key == KEY_DOWN || key == '\t') {
		step = 1;
	} else if (key == 15 && fields[form.field].file) { /* Ctrl-O */
		pick_open(t);
	} else if (v && key == 21) { /* Ctrl-U */
		v[0] = '\0';
	} else if (v && (key == KEY_BACKSPACE || key == 127 || key == 8) && n) {
		v[n - 1] = '\0';
	} else if (v && key >= 32 && key < 127 && n + 1 < fields[form.field].len) {
		v[n] = (char)key;
		v[n + 1] = '\0';
	}
	if (step) {
		do
			form.field = (form.field + step + F_COUNT) % F_COUNT;
		while (!selectable(t, form.field));	/* greyed out: never the current field */
	}
	return TUI_REDRAW;
}

void tui_launch_draw(struct tui *t)
{
	int width = t->cols - 4 < 110 ? t->cols - 4 : 110, left = 2, top = TUI_BODY_TOP + 2;
	/* hints beside the fields where they fit whole; else the current field's, wrapped, below */
	bool beside = width - 52 >= 56;
	char shown[300];

	if (pick.open) {
		pick_draw(t, top, left, width);
		return;
	}
	crt_fill(top, ROLE_HEADER);
	crt_text(top++, left, ROLE_HEADER, width,
		 " launch a VM   (Up/Down or Tab move, type to edit, Ctrl-U clears)");
	for (int f = 0; f < F_COUNT; f++, top++) {
		bool cur = f == form.field;
		const char *hint = beside ? fields[f].hint : "";
		if (f == F_NESTED && nested_why(t)) {
			tui_fit(shown, sizeof(shown), nested_why(t), width - 24);
			crt_text(top, left, ROLE_DIM, width, " %-13s off   %s", fields[f].label,
				 shown);
			continue;
		}
		if (f == F_NESTED) {
			crt_text(top, left, ROLE_DEFAULT, 15, " %-13s", fields[f].label);
			for (int i = 0, x = left + 15; i < 3;
			     x += (int)strlen(nested_mode_name(nested_order[i])) + 3, i++) {
				bool on = (int)nested_order[i] == t->launch.nested;
				enum crt_role role = on ? ROLE_PASS : ROLE_DIM;
				if (on && cur)
					role = ROLE_SELECTED;
				crt_text(top, x, role, 0, on ? "[%s]" : " %s ",
					 nested_mode_name(nested_order[i]));
			}
			crt_text(top, left + 52, ROLE_DIM, width - 52, "%s", hint);
			continue;
		}
		if (f == F_LAUNCH) {
			crt_text(++top, left + 15, cur ? ROLE_SELECTED : ROLE_PASS, 12, "%s",
				 fields[f].label);
			crt_text(top, left + 27, ROLE_DIM, 0, "%s", fields[f].hint);
			continue;
		}
		const char *v = value(t, f);
		size_t n = strlen(v);
		if (n > 34)	/* the end, where typing happens */
			snprintf(shown, sizeof(shown), "..%s", v + n - 32);
		else
			snprintf(shown, sizeof(shown), "%s", v);
		crt_text(top, left, ROLE_DEFAULT, 15, " %-13s", fields[f].label);
		crt_text(top, left + 15, cur ? ROLE_SELECTED : ROLE_DEFAULT, 36, "%-35s", "");
		crt_text(top, left + 15, cur ? ROLE_SELECTED : ROLE_DEFAULT, 36, "%s%s", shown,
			 cur ? "_" : "");
		crt_text(top, left + 52, ROLE_DIM, width - 52, "%s", hint);
	}
	if (!beside && form.field != F_LAUNCH) {
		char lines[3][TUI_LINE], text[200];
		snprintf(text, sizeof(text), "%s: %s", fields[form.field].label,
			 fields[form.field].hint);
		int k = tui_wrap(text, width - 2, lines, 3);
		for (int i = 0; i < k; i++)
			crt_text(top + 1 + i, left + 1, ROLE_DIM, 0, "%s", lines[i]);
	}
}

/* A click: a field becomes the current one, [ Launch ] launches; in the picker a click selects an
 * entry and a second click on it opens or chooses it. */
void tui_launch_click(struct tui *t, int y)
{
	int first = TUI_BODY_TOP + 3;	/* the row under the form's (or picker's) header */

	if (pick.open) {
		int i = pick.scroll + (y - first);
		if (y >= first && i < pick.n && i == pick.sel)
			pick_key(t, '\n');
		else if (y >= first && i < pick.n)
			pick.sel = i;
	} else if (y - first == F_LAUNCH + 1) {	/* drawn a line below the fields */
		launch(t);
	} else if (y - first >= 0 && y - first < F_LAUNCH && selectable(t, y - first)) {
		if (form.field == F_NESTED && y - first == F_NESTED)
			nested_step(t, 1);	/* a click on the current choice moves it on */
		form.field = y - first;
	}
}

/* The Devices field into cfg, each device one the probe calls ready (the gate `nestvisor run
 * --device` has too): -1, or F_DEVICES with the message saying why not. */
static int launch_devices(struct tui *t, struct vmm_config *cfg)
{
	char list[sizeof(t->launch.devices)], *save = NULL, why[200];
	snprintf(list, sizeof(list), "%s", t->launch.devices);
	for (char *d = strtok_r(list, " ", &save); d; d = strtok_r(NULL, " ", &save)) {
		if (cfg->npassthrough == VMM_MAX_PASSTHROUGH) {
			snprintf(t->message, sizeof(t->message), "at most %d devices",
				 VMM_MAX_PASSTHROUGH);
			return F_DEVICES;
		}
		char *bdf = cfg->passthrough[cfg->npassthrough];
		if (vmm_pci_addr_parse(d, bdf, why, sizeof(why)) < 0) {
			snprintf(t->message, sizeof(t->message), "%.200s", why);
			return F_DEVICES;
		}
		for (int i = 0; i < cfg->npassthrough; i++)
			if (!strcmp(cfg->passthrough[i], bdf)) {
				snprintf(t->message, sizeof(t->message), "%s: given twice", d);
				return F_DEVICES;
			}
		const struct probe_pci_dev *pd = t->report ? probe_report_device(t->report, bdf) : NULL;
		if (pd && strcmp(pd->verdict, "ready")) {
			snprintf(t->message, sizeof(t->message), "%s: the probe says %s: %.220s", d,
				 pd->verdict, pd->reason);
			return F_DEVICES;
		}
		cfg->npassthrough++;
		cfg->passthrough_open = compatdb_passthrough_open;
		cfg->passthrough_tell = compatdb_passthrough_tell;
		cfg->passthrough_close = compatdb_passthrough_close;
	}
	return -1;
}

/* The form as a VM's configuration, or the field that is wrong (the message says why). */
static int launch_config(struct tui *t, struct vmm_config *cfg, char *disks, size_t len)
{
	char *end, *save = NULL;
	long cpus = strtol(t->launch.cpus, &end, 10);

	cfg->kernel = t->launch.kernel[0] ? t->launch.kernel : NULL;
	cfg->initrd = t->launch.initrd[0] ? t->launch.initrd : NULL;
	cfg->cmdline = t->launch.cmdline[0] ? t->launch.cmdline : NULL;
	cfg->net = t->launch.net[0] && strcmp(t->launch.net, "none") ? t->launch.net : NULL;
	cfg->nested = nested_why(t) ? NESTED_OFF : t->launch.nested;
	if (vmm_size_parse(t->launch.mem, &cfg->mem) < 0) {
		snprintf(t->message, sizeof(t->message), "memory %.20s: a size like 128M or 2G",
			 t->launch.mem);
		return F_MEM;
	}
	if (end == t->launch.cpus || *end || cpus < 1 || cpus > VMM_MAX_CPUS) {
		snprintf(t->message, sizeof(t->message), "vCPUs %.8s: 1 to %d", t->launch.cpus,
			 VMM_MAX_CPUS);
		return F_CPUS;
	}
	cfg->cpus = (int)cpus;
	snprintf(disks, len, "%s", t->launch.disks);	/* strtok cuts its own copy */
	for (char *d = strtok_r(disks, " ", &save); d; d = strtok_r(NULL, " ", &save)) {
		if (cfg->ndisks == VMM_MAX_DISKS) {
			snprintf(t->message, sizeof(t->message), "at most %d disks", VMM_MAX_DISKS);
			return F_DISKS;
		}
		char why[600];
		if (vmm_disk_parse(d, &cfg->disks[cfg->ndisks], why, sizeof(why)) < 0) {
			snprintf(t->message, sizeof(t->message), "%.200s", why);
			return F_DISKS;
		}
		cfg->ndisks++;
	}
	return launch_devices(t, cfg);
}

/* The VM in a process of its own (vmm_spawn, as `nestvisor run --detach`); why not, when it cannot
 * start. */
static void launch(struct tui *t)
{
	struct vmm_config cfg = { .console = VMM_CONSOLE_PTY,
				  .sandbox = true,
				  .log = vmm_log_stderr }; /* its process's log file */
	struct vmm_spawned sp;
	char name[32], disks[sizeof(t->launch.disks)], err[2048];
	static struct imgboot_vm image;	/* read by the VM's process as it starts */
	const char *how;
	int bad;

	if ((t->launch.kernel[0] || !t->launch.disks[0]) && access(t->launch.kernel, R_OK) < 0) {
		snprintf(t->message, sizeof(t->message), "kernel %.200s: %s (Ctrl-O browses)",
			 t->launch.kernel, strerror(errno));
		form.field = F_KERNEL;
		return;
	}
	if ((bad = launch_config(t, &cfg, disks, sizeof(disks))) >= 0) {
		form.field = bad;
		return;
	}
	snprintf(name, sizeof(name), "vm-%d", (int)(tui_now_ms()) % 100000);
	cfg.name = name;
	/* no kernel: the first disk's own (read by a confined reader); the cloud-init seed */
	if (imgboot_vm_prepare(&cfg, t->launch.cloud, &image, &how, err, sizeof(err)) < 0) {
		snprintf(t->message, sizeof(t->message), "%.300s", err);
		form.field = t->launch.cloud[0] && !strstr(err, "--disk") ? F_CLOUD : F_DISKS;
		return;
	}
	int rc = vmm_spawn(&cfg, false, &sp, err, sizeof(err));
	imgboot_vm_release(&image, rc < 0);
	if (rc == 0) {
		snprintf(t->message, sizeof(t->message),
			 "launched %s (%.200s): Enter attaches to its console", name,
			 how ? how : t->launch.kernel);
		form.open = false;
		tui_vms_select(name);	/* the row selected is this VM's, whatever else runs */
	} else {
		snprintf(t->message, sizeof(t->message), "could not launch: %.280s", err);
	}
	tui_vms_refresh_now();
}
