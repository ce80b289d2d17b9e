/* snapshot: a running VM saved to a file (docs/snapshot.md): paused, its memory, every vCPU, the
 * in-kernel interrupt controllers, PIT and clock, and each device's state written as sections of
 * the snapshot container (snapfile.h); then resumed, or ended (--stop). */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "vmm/snapfile.h"
#include "vmm/snapshot.h"
#include "vmm/vcpu-state.h"
#include "vmm/vm.h"

/* The host's CPU as KVM reports it (vendor, family, model, stepping), from KVM's supported CPUID
 * (the probe's libcpuid reads the host, not this table): a restore on another CPU says so; what
 * decides is the vCPUs' CPUID (vcpu-state.c) */
void vmm_snapshot_host_cpu(const struct vmm *vm, char *buf, size_t len)
{
	char vendor[13] = "?";
	uint32_t sig = 0;

	for (uint32_t i = 0; vm->cpuid && i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function == 0) {
			memcpy(vendor, &e->ebx, 4);
			memcpy(vendor + 4, &e->edx, 4);
			memcpy(vendor + 8, &e->ecx, 4);
			vendor[12] = '\0';
		} else if (e->function == 1)
			sig = e->eax;
	}
	unsigned fam = (sig >> 8) & 0xf, model = (sig >> 4) & 0xf;
	if (fam == 0xf)
		fam += (sig >> 20) & 0xff;
	if (fam >= 6)
		model |= ((sig >> 16) & 0xf) << 4;
	snprintf(buf, len, "%s family %u model %u stepping %u", vendor, fam, model, sig & 0xf);
}

static int config_json(struct vmm *vm, char **out)
{
	json_object *o = json_object_new_object();
	char cpu[80];

	vmm_snapshot_host_cpu(vm, cpu, sizeof(cpu));
	json_object_object_add(o, "host_cpu", json_object_new_string(cpu));
	json_object_object_add(o, "mem", json_object_new_int64((int64_t)vm->mem.size));
	json_object_object_add(o, "cpus", json_object_new_int(vm->ncpus));
	json_object_object_add(o, "cpu_model", json_object_new_int(vm->cfg.cpu_model));
	json_object_object_add(o, "nested", json_object_new_boolean(vm->nested));
	json_object_object_add(o, "kernel", json_object_new_string(vm->cfg.kernel ? vm->cfg.kernel :
								       "-"));
	json_object_object_add(o, "cmdline", json_object_new_string(vm->cfg.cmdline ?
									vm->cfg.cmdline : ""));
	json_object_object_add(o, "boot", json_object_new_string(vmm_boot_kind(vm)));
	json_object_object_add(o, "saved_at", json_object_new_int64((int64_t)time(NULL)));
	*out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return *out ? 0 : -ENOMEM;
}

/* The in-kernel PIC pair and IOAPIC, the PIT and kvmclock: one plain struct */
static int chips_get(struct vmm *vm, struct vmm_snap_chips *c)
{
	memset(c, 0, sizeof(*c));
	c->pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	c->pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	c->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->fd, KVM_GET_IRQCHIP, &c->pic[0]) < 0 ||
	    ioctl(vm->fd, KVM_GET_IRQCHIP, &c->pic[1]) < 0 ||
	    ioctl(vm->fd, KVM_GET_IRQCHIP, &c->ioapic) < 0 || ioctl(vm->fd, KVM_GET_PIT2, &c->pit) < 0 ||
	    ioctl(vm->fd, KVM_GET_CLOCK, &c->clock) < 0)
		return -errno;
	return 0;
}

/* Which pages of guest RAM may hold data: present or swapped out (pagemap bits 63 and 62). A page
 * of anonymous memory that is neither was never touched and reads as zeros: the snapshot need not
 * read it. Only for RAM that is anonymous: a restored VM's untouched pages are the file's. NULL:
 * look at every page. */
static uint8_t *touched_pages(struct vmm *vm)
{
	uint64_t n = vm->mem.size / 4096, e[512];
	uint8_t *present;

	if (vm->cfg.restore || vm->pagemap_fd < 0 || !(present = malloc(n)))
		return NULL;
	for (uint64_t i = 0; i < n; i += 512) {
		uint64_t k = n - i < 512 ? n - i : 512;
		off_t at = (off_t)(((uintptr_t)vm->mem.host / 4096 + i) * 8);
		if (pread(vm->pagemap_fd, e, k * 8, at) != (ssize_t)(k * 8)) {
			free(present);
			return NULL;
		}
		for (uint64_t j = 0; j < k; j++)
			present[i + j] = (e[j] >> 62) != 0;
	}
	return present;
}

/* A device's section: "dev.KIND.N", N counting devices of its kind */
void vmm_snapshot_dev_name(const struct vmm *vm, int i, char *buf, size_t len)
{
	int nth = 0;

	for (int j = 0; j < i; j++)
		nth += vm->devices[j].ops == vm->devices[i].ops;
	snprintf(buf, len, "dev.%s.%d", vm->devices[i].ops->kind, nth);
}

static int write_all(struct vmm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	char *config = NULL, name[SNAP_NAME_LEN + 8];
	struct vmm_snap_chips chips;
	int rc;

	vmm_coalesced_drain(vm);	/* port writes KVM queued: the devices see them first */
	if ((rc = config_json(vm, &config)) < 0 ||
	    (rc = snap_write(w, "config", VMM_SNAP_CONFIG_VERSION, 0, config, strlen(config), 8)) <
		    0) {
		free(config);
		return errmsg(err, errlen, rc, "%s: %s", "its configuration", strerror(-rc));
	}
	free(config);
	for (int i = 0; i < vm->ncpus; i++) {
		void *b;
		size_t n;
		snprintf(name, sizeof(name), "vcpu.%d", i);
		if ((rc = vmm_vcpu_state_save(vm, &vm->cpu[i], &b, &n)) < 0)
			return errmsg(err, errlen, rc, "%s: %s", name, strerror(-rc));
		rc = snap_write(w, name, VMM_VCPU_STATE_VERSION, 0, b, n, 8);
		free(b);
		if (rc < 0)
			return errmsg(err, errlen, rc, "%s: %s", name, strerror(-rc));
	}
	if ((rc = chips_get(vm, &chips)) < 0 ||
	    (rc = snap_write(w, "vm", VMM_SNAP_CHIPS_VERSION, 0, &chips, sizeof(chips), 8)) < 0)
		return errmsg(err, errlen, rc, "the interrupt controllers, PIT and clock: %s",
			      strerror(-rc));
	for (int i = 0; i < vm->ndevices; i++) {
		struct vmm_device *d = &vm->devices[i];
		void *b;
		size_t n;
		if (!d->ops->save)
			continue;
		vmm_snapshot_dev_name(vm, i, name, sizeof(name));
		if ((rc = d->ops->save(vm, d->priv, &b, &n)) < 0)
			return errmsg(err, errlen, rc, "%s: %s", name, strerror(-rc));
		rc = snap_write(w, name, 1, 0, b, n, 8);
		free(b);
		if (rc < 0)
			return errmsg(err, errlen, rc, "%s: %s", name, strerror(-rc));
	}
	/* memory last: the vCPUs' TSCs and kvmclock are read above as soon as the VM is paused
	 * (they run on while it is), so that the restored guest's clock goes on from the moment it
	 * stopped, not from when its memory was written; pages of zeros stay holes */
	uint8_t *present = touched_pages(vm);
	rc = snap_write_pages(w, "memory", 1, vm->mem.host, vm->mem.size, present);
	free(present);
	if (rc < 0)
		return errmsg(err, errlen, rc, "%s: %s", "guest memory", strerror(-rc));
	if ((rc = snap_writer_finish(w)) < 0)
		return errmsg(err, errlen, rc, "%s: %s", "the section table", strerror(-rc));
	return 0;
}

int vmm_snapshot_write(struct vmm *vm, int fd, bool stop, char *err, size_t errlen)
{
	struct snap_writer w;
	bool was_paused;
	int rc;

	err[0] = '\0';
	/* what cannot be saved yet is said before anything is touched */
	for (int i = 0; i < vm->ndevices; i++) {
		const struct vmm_device_ops *o = vm->devices[i].ops;
		if (!o->save && !o->stateless) {
			snprintf(err, errlen,
				 "its %s device cannot be saved yet (a snapshot takes VMs with the "
				 "serial console and the platform's devices: no --disk, --net, --rng "
				 "or --device)", vmm_device_name(&vm->devices[i]));
			return -ENOTSUP;
		}
	}
	if (atomic_load(&vm->suspended)) {
		snprintf(err, errlen, "its guest is asleep (ACPI S3): wake it first");
		return -EBUSY;
	}
	if ((rc = snap_writer_init(&w, fd)) < 0) {
		snprintf(err, errlen, "the snapshot file must be a new, empty regular file");
		return rc;
	}
	pthread_mutex_lock(&vm->pause_lock);
	was_paused = vm->devices_paused;
	pthread_mutex_unlock(&vm->pause_lock);
	if (!was_paused && (rc = vmm_pause(vm)) < 0) {
		snprintf(err, errlen, "it could not be paused (%s)", strerror(-rc));
		return rc;
	}
	rc = write_all(vm, &w, err, errlen);
	if (stop && rc == 0)
		vmm_stop(vm);	/* its vCPUs stay parked: nothing runs after what was saved */
	else if (!was_paused)
		vmm_resume(vm);
	return rc;
}
