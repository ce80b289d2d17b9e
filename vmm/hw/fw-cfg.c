/* fw-cfg: QEMU's firmware configuration interface (docs/specs/fw_cfg.txt), traditional I/O at 0x510
 * (selector) and 0x511 (data): the signature, RAM size and CPU counts, which kvm-unit-tests and
 * SeaBIOS-minded kernels read. */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/errmsg.h"
#include "vmm/hw/io.h"
#include "vmm/vm.h"

struct vmm_fwcfg {
	pthread_mutex_t lock;
	uint16_t key;
	uint32_t off;
};

/* fw_cfg items: QEMU's keys (docs/specs/fw_cfg.txt). */
static int fwcfg_item(struct vmm *vm, uint16_t key, uint8_t *buf)
{
	uint64_t v;

	switch (key) {
	case 0x00: memcpy(buf, "QEMU", 4); return 4;		/* signature */
	case 0x01: io_put(buf, 4, 1); return 4;			/* ID: traditional interface */
	case 0x03: io_put(buf, 8, vm->mem.size); return 8;		/* RAM size */
	case 0x05: io_put(buf, 2, (uint64_t)vm->ncpus); return 2;	/* CPU count */
	case 0x0f: io_put(buf, 2, (uint64_t)vm->ncpus); return 2;	/* max CPUs */
	case 0x0e: v = 0; io_put(buf, 8, v); return 8;		/* NUMA: none */
	default: return 0;
	}
}

static void fwcfg_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_fwcfg *p = dev;
	uint8_t item[16];

	pthread_mutex_lock(&p->lock);
	if (port == 0x510 && write) {
		p->key = (uint16_t)io_get(data, size);
		p->off = 0;
	} else if (port == 0x511 && !write) {
		int n = fwcfg_item(vm, p->key, item);
		for (int i = 0; i < size; i++, p->off++)
			data[i] = p->off < (uint32_t)n ? item[p->off] : 0;
	} else if (!write) {
		memset(data, 0, (size_t)size);
	}
	pthread_mutex_unlock(&p->lock);
}

static void fwcfg_destroy(struct vmm *vm, void *priv)
{
	(void)vm;
	free(priv);
}

/* The selected item and where the guest is in it; the items themselves come from the VM */
static int fwcfg_save(struct vmm *vm, void *priv, void **buf, size_t *len)
{
	struct vmm_fwcfg *p = priv;
	uint32_t b[2];

	(void)vm;
	pthread_mutex_lock(&p->lock);
	b[0] = p->key;
	b[1] = p->off;
	pthread_mutex_unlock(&p->lock);
	if (!(*buf = malloc(sizeof(b))))
		return -ENOMEM;
	memcpy(*buf, b, sizeof(b));
	*len = sizeof(b);
	return 0;
}

static int fwcfg_load(struct vmm *vm, void *priv, const void *buf, size_t len)
{
	struct vmm_fwcfg *p = priv;
	uint32_t b[2];

	(void)vm;
	if (len != sizeof(b))
		return -EINVAL;
	memcpy(b, buf, sizeof(b));
	if (b[0] > 0xffff)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->key = (uint16_t)b[0];
	p->off = b[1];	/* past an item's end reads zeros */
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static const struct vmm_device_ops fwcfg_device = { .kind = "fw_cfg", .destroy = fwcfg_destroy,
						    .save = fwcfg_save, .load = fwcfg_load };

int vmm_fwcfg_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_fwcfg *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	if ((rc = vmm_device_add(vm, &fwcfg_device, p)) < 0) {
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->lock, NULL);
	if ((rc = vmm_pio_register(vm, "fw_cfg", 0x510, 2, fwcfg_io, p)) < 0)
		return errmsg(err, errlen, rc, "device fw_cfg at port 0x510: %s", strerror(-rc));
	return 0;
}
