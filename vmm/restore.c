/* restore: a VM made again from a snapshot file (docs/snapshot.md). The file is opened and checked
 * whole (its container, its configuration, a section for each vCPU) before anything is made; guest
 * memory is the file's memory section mapped private, so pages load when first touched and a
 * restore's time does not grow with RAM; then the vCPUs, KVM's chips and clock and each device get
 * their state back before the first KVM_RUN. Anything refused ends the restore: never half a VM. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "common/text.h"
#include "nested/nested.h"
#include "vmm/cpumodel.h"
#include "vmm/snapfile.h"
#include "vmm/snapshot.h"
#include "vmm/vcpu-state.h"
#include "vmm/vm.h"

#define CONFIG_MAX 65536
#define VCPU_MAX (4u << 20)
#define DEVICE_MAX (1u << 20)

struct vmm_snapshot {
	int fd;
	struct snap_file f;
	char path[4096];
	char kernel[1024], cmdline[2048], host_cpu[96];
};

static long long member_int(json_object *o, const char *key, long long lo, long long hi, bool *ok)
{
	json_object *m;
	long long v;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_int) ||
	    (v = json_object_get_int64(m)) < lo || v > hi) {
		*ok = false;
		return lo;
	}
	return v;
}

static void member_str(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *m;
	const char *s = json_object_object_get_ex(o, key, &m) && json_object_is_type(m, json_type_string) ?
				json_object_get_string(m) : "-";

	snprintf(buf, len, "%s", s);
	text_clean(buf);	/* it reaches a terminal: `nestvisor ps`, the TUI */
}

/* The VM the snapshot was taken of, into cfg: what vmm_create makes before the state goes back */
static int read_config(struct vmm_snapshot *s, struct vmm_config *cfg, char *err, size_t errlen)
{
	void *buf;
	uint64_t len;
	json_object *o, *m;
	bool ok = true;
	int rc;

	if ((rc = snap_read(&s->f, "config", VMM_SNAP_CONFIG_VERSION, CONFIG_MAX, &buf, &len, err,
			    errlen)) < 0)
		return rc;
	struct json_tokener *tok = json_tokener_new_ex(4);
	o = tok ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
	if (tok)
		json_tokener_free(tok);
	free(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return errmsg(err, errlen, -EINVAL, "its configuration is not a JSON object");
	}
	cfg->mem = (uint64_t)member_int(o, "mem", 1 << 20, (long long)VMM_MEM_MAX, &ok);
	cfg->cpus = (int)member_int(o, "cpus", 1, VMM_MAX_CPUS, &ok);
	cfg->cpu_model = (int)member_int(o, "cpu_model", VMM_CPU_AUTO, VMM_CPU_BASELINE, &ok);
	/* a guest that was given nested virtualization keeps it, or is not restored; one that was
	 * not has none (its CPUID says so): no probe of the host for it, which a restore's time
	 * would pay */
	cfg->nested = json_object_object_get_ex(o, "nested", &m) && json_object_get_boolean(m) ?
			      NESTED_ON : NESTED_OFF;
	member_str(o, "kernel", s->kernel, sizeof(s->kernel));
	member_str(o, "cmdline", s->cmdline, sizeof(s->cmdline));
	member_str(o, "host_cpu", s->host_cpu, sizeof(s->host_cpu));
	json_object_put(o);
	if (!ok || (cfg->mem & 0xfff))
		return errmsg(err, errlen, -EINVAL,
			      "its configuration has a missing or out-of-range member (mem, cpus "
			      "or cpu_model)");
	return 0;
}

int vmm_snapshot_open(const char *path, struct vmm_config *cfg, char *err, size_t errlen)
{
	struct vmm_snapshot *s = calloc(1, sizeof(*s));
	const struct snap_section *mem;
	char why[512] = "";
	int rc;

	if (!s)
		return -ENOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	/* O_NOFOLLOW: a link planted where the user points is not followed as root; O_NONBLOCK: a
	 * FIFO given does not hang the open (snap_open refuses anything but a regular file) */
	if ((s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
		rc = -errno;
		free(s);
		return errmsg(err, errlen, rc, "snapshot %s: %s", path, strerror(-rc));
	}
	if ((rc = snap_open(s->fd, &s->f, why, sizeof(why))) < 0 ||
	    (rc = read_config(s, cfg, why, sizeof(why))) < 0)
		goto fail;
	mem = snap_find(&s->f, "memory");
	if (!mem || !(mem->flags & SNAP_F_LAZY) || mem->length != cfg->mem || (mem->offset & 0xfff)) {
		rc = errmsg(why, sizeof(why), -EINVAL, "its memory section does not match its "
			    "configuration (%llu bytes of RAM)", (unsigned long long)cfg->mem);
		goto fail;
	}
	for (int i = 0; i < cfg->cpus; i++) {
		char name[32];
		snprintf(name, sizeof(name), "vcpu.%d", i);
		if (!snap_find(&s->f, name)) {
			rc = errmsg(why, sizeof(why), -EINVAL, "it has no state for vCPU %d of %d", i,
				    cfg->cpus);
			goto fail;
		}
	}
	cfg->restore = s;
	cfg->kernel = s->kernel;
	cfg->cmdline = s->cmdline;
	cfg->initrd = NULL;
	return 0;
fail:
	close(s->fd);
	free(s);
	return errmsg(err, errlen, rc, "snapshot %s: %s", path, why);
}

void vmm_snapshot_close(struct vmm_config *cfg)
{
	if (!cfg->restore)
		return;
	close(cfg->restore->fd);
	free(cfg->restore);
	cfg->restore = NULL;
}

int vmm_snapshot_move_fd(struct vmm_config *cfg, int fd)
{
	struct vmm_snapshot *s = cfg->restore;
	int to;

	if (!s)
		return -EINVAL;
	if (s->fd == fd)
		return 0;
	to = fd >= 100 ? fcntl(s->fd, F_DUPFD, fd) : dup2(s->fd, fd);
	if (to < 0)
		return -errno;
	close(s->fd);
	s->fd = s->f.fd = to;
	return 0;
}

int vmm_snapshot_verify(const struct vmm_config *cfg, char *err, size_t errlen)
{
	char why[512] = "";
	int rc;

	if (!cfg->restore)
		return -EINVAL;
	if ((rc = snap_verify(&cfg->restore->f, why, sizeof(why))) < 0)
		return errmsg(err, errlen, rc, "snapshot %s: %s", cfg->restore->path, why);
	return 0;
}

int vmm_restore_memory(struct vmm *vm, char *err, size_t errlen)
{
	const struct snap_section *sec = snap_find(&vm->cfg.restore->f, "memory");
	int rc = vmm_mem_map_file(&vm->mem, sec->length, vm->cfg.restore->fd, sec->offset);

	if (rc < 0)
		return errmsg(err, errlen, rc, "guest memory from %s: %s", vm->cfg.restore->path,
			      strerror(-rc));
	return 0;
}

static int load_chips(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_snap_chips c;
	void *buf;
	uint64_t len;
	int rc;

	if ((rc = snap_read(&vm->cfg.restore->f, "vm", VMM_SNAP_CHIPS_VERSION, sizeof(c), &buf,
			    &len, err, errlen)) < 0)
		return rc;
	if (len != sizeof(c)) {
		free(buf);
		return errmsg(err, errlen, -EINVAL, "its vm section has %llu bytes, not %zu",
			      (unsigned long long)len, sizeof(c));
	}
	memcpy(&c, buf, sizeof(c));
	free(buf);
	/* the chip each holds is the one it is written to, whatever the file says */
	c.pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	c.pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	c.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	c.clock.flags = 0;	/* the clock goes on from where it was saved */
	memset(c.clock.pad, 0, sizeof(c.clock.pad));
	if (ioctl(vm->fd, KVM_SET_IRQCHIP, &c.pic[0]) < 0 ||
	    ioctl(vm->fd, KVM_SET_IRQCHIP, &c.pic[1]) < 0 ||
	    ioctl(vm->fd, KVM_SET_IRQCHIP, &c.ioapic) < 0 || ioctl(vm->fd, KVM_SET_PIT2, &c.pit) < 0 ||
	    ioctl(vm->fd, KVM_SET_CLOCK, &c.clock) < 0)
		return errmsg(err, errlen, -EINVAL,
			      "KVM refused its interrupt controllers, PIT or clock (%s)",
			      strerror(errno));
	return 0;
}

static int load_devices(struct vmm *vm, char *err, size_t errlen)
{
	const struct snap_file *f = &vm->cfg.restore->f;
	unsigned used = 0, in_file = 0;
	char name[SNAP_NAME_LEN + 8];
	int rc;

	for (int i = 0; i < vm->ndevices; i++) {
		struct vmm_device *d = &vm->devices[i];
		void *buf;
		uint64_t len;
		if (d->ops->stateless)
			continue;
		if (!d->ops->load)
			return errmsg(err, errlen, -ENOTSUP, "its %s device cannot be restored yet",
				      vmm_device_name(d));
		vmm_snapshot_dev_name(vm, i, name, sizeof(name));
		if ((rc = snap_read(f, name, 1, DEVICE_MAX, &buf, &len, err, errlen)) < 0)
			return rc;
		rc = d->ops->load(vm, d->priv, buf, (size_t)len);
		free(buf);
		if (rc < 0)
			return errmsg(err, errlen, rc, "its %s section holds values out of range", name);
		used++;
	}
	for (unsigned i = 0; i < f->n; i++)
		in_file += !strncmp(f->sec[i].name, "dev.", 4);
	if (in_file != used)
		return errmsg(err, errlen, -EINVAL,
			      "it holds %u devices' state and this VM has %u such devices", in_file,
			      used);
	return 0;
}

int vmm_restore_apply(struct vmm *vm, char *err, size_t errlen)
{
	char why[512] = "", cpu[96];
	int rc = 0;

	vmm_snapshot_host_cpu(vm, cpu, sizeof(cpu));
	if (strcmp(cpu, vm->cfg.restore->host_cpu))	/* its features are checked below */
		vmm_warn(vm, "snapshot %s was taken on another CPU (%s; this one: %s)",
			 vm->cfg.restore->path, vm->cfg.restore->host_cpu, cpu);

	for (int i = 0; i < vm->ncpus && rc == 0; i++) {
		char name[32];
		void *buf;
		uint64_t len;
		snprintf(name, sizeof(name), "vcpu.%d", i);
		if ((rc = snap_read(&vm->cfg.restore->f, name, VMM_VCPU_STATE_VERSION, VCPU_MAX, &buf,
				    &len, why, sizeof(why))) < 0)
			break;
		rc = vmm_vcpu_state_load(vm, &vm->cpu[i], buf, (size_t)len, why, sizeof(why));
		free(buf);
	}
	if (rc == 0)
		rc = load_chips(vm, why, sizeof(why));
	if (rc == 0)
		rc = load_devices(vm, why, sizeof(why));
	if (rc < 0)
		return errmsg(err, errlen, rc, "snapshot %s: %s", vm->cfg.restore->path, why);
	return 0;
}
