/* vfio: a host PCI device given to the guest (vfio.h). Everything is opened and mapped before the
 * first vCPU runs; a vCPU later only moves BARs (memory slots) and forwards trapped accesses. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmm/hw/vfio.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#define PAGE 4096ull

int vmm_pci_addr_parse(const char *s, char out[16], char *err, size_t errlen)
{
	unsigned dom = 0, bus, dev, fn;
	int n = -1;

	if (!s || (sscanf(s, "%4x:%2x:%2x.%1u%n", &dom, &bus, &dev, &fn, &n) != 4 ||
		   n != (int)strlen(s))) {
		n = -1;
		dom = 0;	/* the first pattern may have taken the bus for it */
		if (!s || sscanf(s, "%2x:%2x.%1u%n", &bus, &dev, &fn, &n) != 3 ||
		    n != (int)strlen(s))
			n = -1;
	}
	if (n < 0 || dev > 31 || fn > 7 || strchr(s, ' ') || strchr(s, '+') || strchr(s, '-')) {
		snprintf(err, errlen, "'%s' is not a PCI address: give it as lspci shows it, "
			 "e.g. 01:00.0 or 0000:01:00.0", s ? s : "");
		return -EINVAL;
	}
	snprintf(out, 16, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
	return 0;
}

static int open_regions(struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int rc;

	if ((v->fd = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->bdf)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "--device %s: VFIO gives no device fd: %s", v->bdf,
			 strerror(errno));
		return rc;
	}
	if (ioctl(v->fd, VFIO_DEVICE_GET_INFO, &info) < 0 || !(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		snprintf(err, errlen, "--device %s: VFIO does not describe it as a PCI device",
			 v->bdf);
		return -ENODEV;
	}
	v->can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
	for (unsigned i = 0; i <= VFIO_PCI_CONFIG_REGION_INDEX; i++) {
		struct vfio_region_info r = { .argsz = sizeof(r), .index = i };
		if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, &r) < 0)
			continue;
		if (i == VFIO_PCI_CONFIG_REGION_INDEX) {
			v->cfg_offset = r.offset;
			v->cfg_size = r.size < PCI_CFG_SIZE ? r.size : PCI_CFG_SIZE;
		} else if (i <= PCI_ROM) {	/* VFIO_PCI_ROM_REGION_INDEX is PCI_ROM */
			v->bar[i].size = r.size;
			v->bar[i].offset = r.offset;
			v->bar[i].flags = r.flags;
		}
	}
	if (v->cfg_size < PCI_CFG_LEGACY) {
		snprintf(err, errlen, "--device %s: VFIO shows no config space", v->bdf);
		return -ENODEV;
	}
	return 0;
}

/* The device's own command register with bus mastering cleared: it starts no DMA until a guest's
 * driver sets it again. */
static void bus_master_off(struct vmm_vfio *v)
{
	uint16_t cmd;

	if (pread(v->fd, &cmd, 2, (off_t)(v->cfg_offset + 4)) == 2 && (cmd & 0x4)) {
		cmd &= (uint16_t)~0x4;
		if (pwrite(v->fd, &cmd, 2, (off_t)(v->cfg_offset + 4)) != 2)
			vmm_warn(v->vm, "device %s: bus mastering could not be turned off: %s",
				 v->bdf, strerror(errno));
	}
}

/* The expansion ROM read once into memory of our own: the guest reads it from a read-only memory
 * slot. Each read through VFIO's ROM region maps the ROM anew: a guest reading 64 KiB of it a few
 * bytes an exit took 9.8 s in the IOMMU test host. NULL where it cannot be read (it traps then). */
static void *rom_copy(struct vmm_vfio *v)
{
	const struct vfio_bar *b = &v->bar[PCI_ROM];
	void *p;

	if (!v->pci.rom_size || b->size < PAGE || b->size % PAGE)
		return NULL;
	p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (pread(v->fd, p, b->size, (off_t)b->offset) != (ssize_t)b->size) {
		vmm_warn(v->vm, "device %s: its ROM could not be read (%s); each read of it traps",
			 v->bdf, strerror(errno));
		munmap(p, b->size);
		return NULL;
	}
	return p;
}

/* Mapped where VFIO allows it and the BAR is whole pages; trapped otherwise. */
static void map_bars(struct vmm_vfio *v)
{
	for (int i = 0; i <= PCI_ROM; i++) {
		struct vfio_bar *b = &v->bar[i];
		b->owner = v;
		b->index = i;
		b->slots[0] = b->slots[1] = b->slots[2] = -1;
		if (i == PCI_ROM) {
			b->map = rom_copy(v);
			continue;
		}
		/* I/O BARs trapped, each access a read or write of their region */
		if (!v->pci.bar_size[i] || (v->pci.bar_flags[i] & PCI_BAR_IO) ||
		    !(b->flags & VFIO_REGION_INFO_FLAG_MMAP) || b->size < PAGE)
			continue;
		void *p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
			       (off_t)b->offset);
		b->map = p == MAP_FAILED ? NULL : p;
	}
}

static void bar_access(struct vmm *vm, void *dev, uint64_t addr, bool write, uint8_t *data,
		       int size)
{
	struct vfio_bar *b = dev;
	struct vmm_vfio *v = b->owner;
	uint64_t off = addr - __atomic_load_n(&b->gpa, __ATOMIC_ACQUIRE);

	(void)vm;
	if (size < 1 || size > 8 || off >= b->size || (uint64_t)size > b->size - off ||
	    (write && b->index == PCI_ROM)) {	/* a ROM takes no writes */
		if (!write)
			memset(data, 0xff, (size_t)size);
		return;
	}
	for (int h = 0; h < b->nholes; h++)
		if (off >= b->hole[h][0] && off < b->hole[h][1] && b->index == v->msix_bar) {
			vfio_msix_access(v, off, write, data, size);
			return;
		}
	ssize_t n = write ? pwrite(v->fd, data, (size_t)size, (off_t)(b->offset + off)) :
			    pread(v->fd, data, (size_t)size, (off_t)(b->offset + off));
	if (n != size && !write)
		memset(data, 0xff, (size_t)size);	/* a device gone reads as all ones */
}

void vfio_io_access(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint16_t off, bool write,
		    uint8_t *data, int size)
{
	struct vmm_vfio *v = d->priv;

	(void)vm;
	if (off < v->bar[bar].size && (uint64_t)size <= v->bar[bar].size - off) {
		ssize_t n = write ? pwrite(v->fd, data, (size_t)size,
					   (off_t)(v->bar[bar].offset + off)) :
				    pread(v->fd, data, (size_t)size,
					  (off_t)(v->bar[bar].offset + off));
		if (n == size || write)
			return;
	}
	if (!write)
		memset(data, 0xff, (size_t)size);
}

/* The guest placed BAR bar at addr (0: decoding off): its mapped pieces become memory slots
 * there, the rest (or all of it, if mapping fails) is trapped. */
static void bar_moved(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint64_t addr)
{
	struct vmm_vfio *v = d->priv;
	struct vfio_bar *b = &v->bar[bar];
	/* a ROM in memory is read-only: its writes exit, and are dropped by the trap */
	bool trap = !b->map || b->nholes || bar == PCI_ROM;

	for (int s = 0; s < 3; s++)
		if (b->slots[s] >= 0) {
			vmm_slot_unmap(vm, b->slots[s]);
			b->slots[s] = -1;
		}
	if (b->trapped)
		vmm_mmio_unregister(vm, b);
	b->trapped = false;
	__atomic_store_n(&b->gpa, addr, __ATOMIC_RELEASE);
	if (!addr)
		return;
	if (b->map) {
		uint64_t at = 0;
		for (int h = 0, s = 0; h <= b->nholes; h++) {
			uint64_t end = h < b->nholes ? b->hole[h][0] : b->size;
			if (end > at) {
				int slot = vmm_slot_map(vm, addr + at, end - at, (uint8_t *)b->map + at,
							bar == PCI_ROM ? KVM_MEM_READONLY : 0);
				if (slot < 0) {
					vmm_warn(vm, "device %s: BAR%d as memory: %s; every access "
						 "to it traps now (slower)", v->bdf, bar,
						 strerror(-slot));
					trap = true;
					break;
				}
				b->slots[s++] = slot;
			}
			if (h < b->nholes)
				at = b->hole[h][1];
		}
	}
	if (trap && vmm_mmio_register(vm, v->pci.name, addr, b->size, bar_access, b) == 0)
		b->trapped = true;
}

/* The device taken back by the host (its driver unbound, the device unplugged: VFIO asks for it
 * and waits) or failing (an uncorrectable error): this VM alone ends, saying which. */
static void *watch_thread(void *arg)
{
	struct vmm_vfio *v = arg;
	struct pollfd p[3] = { { .fd = v->stop_efd, .events = POLLIN },
			       { .fd = v->req_efd, .events = POLLIN },
			       { .fd = v->err_efd, .events = POLLIN } };

	vmm_sandbox_enter(v->vm, VMM_THREAD_IO);
	for (;;) {
		if (poll(p, 3, -1) < 0)
			continue;
		if (p[0].revents)
			return NULL;
		if (p[1].revents || p[2].revents) {
			vmm_warn(v->vm, "device %s %s: the VM ends so that the host has it back", v->bdf,
				 p[1].revents ? "is wanted back by the host (unbound from vfio-pci, "
						"or unplugged)" :
						"reported an uncorrectable error (AER)");
			vmm_end(v->vm, VMM_END_DEVICE_LOST, 0);
			return NULL;
		}
	}
}

static int one_irq(struct vmm_vfio *v, unsigned index)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };
	struct { struct vfio_irq_set s; int fd; } set = {
		.s = { .argsz = sizeof(set), .index = index, .count = 1,
		       .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER },
	};

	if (ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0 || info.count < 1)
		return -1;	/* this kernel or device has no such interrupt: nothing to watch */
	if ((set.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -1;
	if (ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &set) < 0) {
		close(set.fd);
		return -1;
	}
	return set.fd;
}

static void watch_start(struct vmm_vfio *v)
{
	v->req_efd = one_irq(v, VFIO_PCI_REQ_IRQ_INDEX);
	v->err_efd = one_irq(v, VFIO_PCI_ERR_IRQ_INDEX);
	if ((v->req_efd >= 0 || v->err_efd >= 0) &&
	    (v->stop_efd = eventfd(0, EFD_CLOEXEC)) >= 0 &&
	    pthread_create(&v->watcher, NULL, watch_thread, v) == 0)
		v->watching = true;
	else
		vmm_warn(v->vm, "device %s: not watched for removal or errors: a host taking it "
			 "back waits for this VM to end", v->bdf);
}

/* The VM has ended (not a set-up that failed): whether the device worked for it, told. */
static void tell_outcome(struct vmm *vm, struct vmm_vfio *v)
{
	enum vmm_end how = vmm_end_reason(vm);
	char vd[16];
	bool clean = how == VMM_END_RESET || how == VMM_END_POWEROFF || how == VMM_END_DEBUG_EXIT ||
		     how == VMM_END_STOPPED;

	if (!v->sink || how == VMM_END_RUNNING || v->fd < 0)
		return;
	snprintf(vd, sizeof(vd), "%02x%02x:%02x%02x", v->pci.cfg[1], v->pci.cfg[0], v->pci.cfg[3],
		 v->pci.cfg[2]);
	vm->cfg.passthrough_tell(v->sink, v->bdf, vd,
				 !clean ? "failed" : v->driven ? "worked" : "unused", vmm_end_name(how));
}

static void vfio_destroy(struct vmm *vm, void *priv)
{
	struct vmm_vfio *v = priv;

	tell_outcome(vm, v);
	if (v->sink)
		vm->cfg.passthrough_close(v->sink);

	if (v->watching) {
		uint64_t one = 1;
		if (write(v->stop_efd, &one, sizeof(one)) == sizeof(one))
			pthread_join(v->watcher, NULL);
	}
	for (int i = 0; i < 3; i++) {
		int fd = i == 0 ? v->stop_efd : i == 1 ? v->req_efd : v->err_efd;
		if (fd >= 0)
			close(fd);
	}

	vfio_irqs_teardown(v);
	for (int i = 0; i <= PCI_ROM; i++) {
		struct vfio_bar *b = &v->bar[i];
		for (int s = 0; s < 3; s++)
			if (b->slots[s] >= 0)
				vmm_slot_unmap(vm, b->slots[s]);
		if (b->trapped)
			vmm_mmio_unregister(vm, b);
		if (b->map)
			munmap(b->map, b->size);
	}
	if (v->fd >= 0) {
		/* what the guest left in it goes before the host (or the next VM) sees it; closing
		 * the fd resets it too, kill -9 included */
		bus_master_off(v);
		if (v->can_reset)
			ioctl(v->fd, VFIO_DEVICE_RESET);
		close(v->fd);
	}
	vfio_group_put(v);	/* the group closes with its last device, the container after */
	free(v->vec);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* A device that does DMA on its own cannot be stopped from outside: a pause would not be one. */
static int vfio_pause(struct vmm *vm, void *priv)
{
	struct vmm_vfio *v = priv;

	vmm_warn(vm, "pause: %s is passed through (VFIO): its DMA cannot be stopped from outside, "
		 "so a VM with a passed-through device is not paused", v->bdf);
	return -EOPNOTSUPP;
}

static bool vfio_stat(struct vmm *vm, void *priv, struct vmm_dev_stat *out)
{
	struct vmm_vfio *v = priv;

	(void)vm;
	snprintf(out->what, sizeof(out->what), "vfio %s", v->bdf + 5);
	out->interrupts = __atomic_load_n(&v->interrupts_set, __ATOMIC_RELAXED);
	return true;
}

static const struct vmm_device_ops vfio_device = {
	.kind = "vfio-pci", .destroy = vfio_destroy, .pause = vfio_pause, .stat = vfio_stat,
};

/* The device opened, in the VM's container, reset and quiet; its guest RAM mapping comes after
 * every device is (vmm_vfio_init). */
static int vfio_open(struct vmm *vm, const char *bdf, char *err, size_t errlen)
{
	struct vmm_vfio *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->group = v->fd = v->intx_efd = v->intx_resample = -1;
	v->req_efd = v->err_efd = v->stop_efd = -1;
	v->intx_gsi = v->msix_bar = -1;
	pthread_mutex_init(&v->lock, NULL);
	snprintf(v->bdf, sizeof(v->bdf), "%s", bdf);
	for (int i = 0; i <= PCI_ROM; i++)	/* the ROM's too: its destroy unmaps what is >= 0 */
		v->bar[i].slots[0] = v->bar[i].slots[1] = v->bar[i].slots[2] = -1;
	if ((rc = vfio_group_get(v, err, errlen)) < 0 ||
	    (rc = vmm_device_add(vm, &vfio_device, v)) < 0) {
		if (rc == -ENOSPC)
			snprintf(err, errlen, "--device %s: too many devices", bdf);
		vfio_destroy(vm, v);
		return rc;
	}
	if ((rc = open_regions(v, err, errlen)) < 0)
		return rc;
	/* From a known state, whatever the host or the last VM left: no DMA of its own (bus
	 * mastering off, so a device whose reset does not take cannot write into this guest's RAM
	 * before the guest's driver has set it up), reset, and only then guest RAM mapped for it. */
	bus_master_off(v);
	if (v->can_reset && ioctl(v->fd, VFIO_DEVICE_RESET) < 0)
		vmm_warn(vm, "device %s: VFIO could not reset it (%s); it starts as it was", bdf,
			 strerror(errno));
	return 0;
}

/* On the VM's bus, its BARs mapped and its interrupts wired. */
static int vfio_plug(struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vmm *vm = v->vm;
	int rc;

	v->pci.name = v->bdf;
	v->pci.priv = v;
	v->pci.bar_moved = bar_moved;
	if ((rc = vfio_cfg_setup(v, err, errlen)) < 0)
		return rc;
	map_bars(v);
	if ((rc = vmm_pci_add(vm, &v->pci, err, errlen)) < 0)
		return rc;
	if ((rc = vfio_intx_setup(v)) < 0) {
		snprintf(err, errlen, "--device %s: its INTx: %s", v->bdf, strerror(-rc));
		return rc;
	}
	watch_start(v);
	/* opened now: once the VM runs, its threads may open nothing of the kind (the sandbox) */
	if (vm->cfg.passthrough_open && vm->cfg.passthrough_tell && vm->cfg.passthrough_close)
		v->sink = vm->cfg.passthrough_open();
	return 0;
}

int vmm_vfio_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_vfio *v;
	int rc;

	for (int i = 0; i < vm->cfg.npassthrough; i++)
		if ((rc = vfio_open(vm, vm->cfg.passthrough[i], err, errlen)) < 0)
			return rc;
	/* once every device in the container is quiet: one device's DMA reaches what the
	 * container maps as soon as its group is in it */
	if ((rc = vfio_group_map_ram(vm, err, errlen)) < 0)
		return rc;
	for (int i = 0; (v = vmm_device_get(vm, &vfio_device, i)); i++)
		if ((rc = vfio_plug(v, err, errlen)) < 0)
			return rc;
	return 0;
}
