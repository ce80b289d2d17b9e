/* debug-exit: the devices test kernels report through, as QEMU has them: isa-debug-exit (port 0xf4:
 * the VM ends with status (v << 1) | 1) and pc-testdev (scratch ports 0xe0-0xe3, ISA IRQ lines at
 * 0x2000+n, 64 KiB of MMIO at 0xff000000), which kvm-unit-tests use. */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/errmsg.h"
#include "vmm/hw/io.h"
#include "vmm/vm.h"

#define TESTDEV_MMIO VMM_TESTDEV_MMIO
#define TESTDEV_MMIO_LEN 0x10000
#define TESTDEV_IRQS 24

struct vmm_testdev {
	pthread_mutex_t lock;
	uint8_t scratch[4];
	uint8_t iomem[TESTDEV_MMIO_LEN];
};

/* isa-debug-exit: the guest's value v ends the VM with status (v << 1) | 1. */
static void debug_exit_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data,
			  int size)
{
	(void)dev;
	(void)port;
	if (write)
		vmm_end(vm, VMM_END_DEBUG_EXIT, (int)io_get(data, size));
	else
		memset(data, 0xff, (size_t)size);
}

static void testdev_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data,
		       int size)
{
	struct vmm_testdev *p = dev;

	if (port >= 0x2000) {	/* raise (1) or lower (0) ISA IRQ line n */
		if (write && port - 0x2000 < TESTDEV_IRQS)
			vmm_irq_line(vm, port - 0x2000, (int)(io_get(data, size) & 1));
		else if (!write)
			memset(data, 0, (size_t)size);
		return;
	}
	if (port >= 0xe4) {	/* flush: nothing is cached here */
		if (!write)
			memset(data, 0, (size_t)size);
		return;
	}
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < size; i++) {
		int k = (port - 0xe0 + i) & 3;
		if (write)
			p->scratch[k] = data[i];
		else
			data[i] = p->scratch[k];
	}
	pthread_mutex_unlock(&p->lock);
}

static void testdev_mmio(struct vmm *vm, void *dev, uint64_t addr, bool write, uint8_t *data,
			 int size)
{
	struct vmm_testdev *p = dev;
	uint64_t off = addr - TESTDEV_MMIO;

	(void)vm;
	if (off + (uint64_t)size >
	    TESTDEV_MMIO_LEN) { /* straddles the end: all-ones, nothing written */
		if (!write)
			memset(data, 0xff, (size_t)size);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (write)
		memcpy(p->iomem + off, data, (size_t)size);
	else
		memcpy(data, p->iomem + off, (size_t)size);
	pthread_mutex_unlock(&p->lock);
}

static void testdev_destroy(struct vmm *vm, void *priv)
{
	(void)vm;
	free(priv);
}

/* Its scratch register and memory, as the guest left them */
static int testdev_save(struct vmm *vm, void *priv, void **buf, size_t *len)
{
	struct vmm_testdev *p = priv;

	(void)vm;
	if (!(*buf = malloc(sizeof(p->scratch) + sizeof(p->iomem))))
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	memcpy(*buf, p->scratch, sizeof(p->scratch));
	memcpy((uint8_t *)*buf + sizeof(p->scratch), p->iomem, sizeof(p->iomem));
	pthread_mutex_unlock(&p->lock);
	*len = sizeof(p->scratch) + sizeof(p->iomem);
	return 0;
}

static int testdev_load(struct vmm *vm, void *priv, const void *buf, size_t len)
{
	struct vmm_testdev *p = priv;

	(void)vm;
	if (len != sizeof(p->scratch) + sizeof(p->iomem))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	memcpy(p->scratch, buf, sizeof(p->scratch));
	memcpy(p->iomem, (const uint8_t *)buf + sizeof(p->scratch), sizeof(p->iomem));
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static const struct vmm_device_ops testdev_device = { .kind = "debug-exit",
						      .destroy = testdev_destroy,
						      .save = testdev_save,
						      .load = testdev_load };

int vmm_testdev_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_testdev *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	if ((rc = vmm_device_add(vm, &testdev_device, p)) < 0) {
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->lock, NULL);
	if ((rc = vmm_pio_register(vm, "debug-exit", 0xf4, 4, debug_exit_io, NULL)) < 0 ||
	    (rc = vmm_pio_register(vm, "testdev", 0xe0, 8, testdev_io, p)) < 0 ||
	    (rc = vmm_pio_register(vm, "testdev-irq", 0x2000, TESTDEV_IRQS, testdev_io, p)) < 0 ||
	    (rc = vmm_mmio_register(vm, "testdev-iomem", TESTDEV_MMIO, TESTDEV_MMIO_LEN,
				    testdev_mmio, p)) < 0)
		return errmsg(err, errlen, rc, "debug-exit and pc-testdev: %s", strerror(-rc));
	return 0;
}
