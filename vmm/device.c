/* device: the registry of the VM's device instances (see device.h). */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "vmm/device.h"
#include "vmm/vm.h"

int vmm_device_add(struct vmm *vm, const struct vmm_device_ops *ops, void *priv)
{
	if (vm->ndevices >= VMM_MAX_DEVICES)
		return -ENOSPC;
	vm->devices[vm->ndevices++] = (struct vmm_device){ .ops = ops, .priv = priv };
	return 0;
}

void *vmm_device_get(const struct vmm *vm, const struct vmm_device_ops *ops, int nth)
{
	for (int i = 0; i < vm->ndevices; i++)
		if (vm->devices[i].ops == ops && nth-- == 0)
			return vm->devices[i].priv;
	return NULL;
}

void vmm_devices_destroy(struct vmm *vm)
{
	while (vm->ndevices > 0) {
		struct vmm_device *d = &vm->devices[--vm->ndevices];
		d->ops->destroy(vm, d->priv);
	}
}

int vmm_devices_pause(struct vmm *vm, const char **who)
{
	for (int i = 0; i < vm->ndevices; i++) {
		struct vmm_device *d = &vm->devices[i];
		int rc = d->ops->pause && !d->paused ? d->ops->pause(vm, d->priv) : 0;
		if (rc < 0) {
			if (who)
				*who = d->ops->kind;
			vmm_devices_resume(vm);
			return rc;
		}
		d->paused = true;
	}
	return 0;
}

void vmm_devices_resume(struct vmm *vm)
{
	for (int i = vm->ndevices; i-- > 0;) {
		struct vmm_device *d = &vm->devices[i];
		if (d->paused && d->ops->resume)
			d->ops->resume(vm, d->priv);
		d->paused = false;
	}
}

int vmm_devices_queues(struct vmm *vm, struct vmm_queue_pos *out, int max)
{
	int n = 0;

	for (int i = 0; i < vm->ndevices && n < max; i++)
		if (vm->devices[i].ops->queues)
			n += vm->devices[i].ops->queues(vm, vm->devices[i].priv, out + n, max - n);
	return n;
}

int vmm_devices_stat(struct vmm *vm, struct vmm_dev_stat *out, int max)
{
	int n = 0;

	for (int i = 0; i < vm->ndevices && n < max; i++) {
		struct vmm_device *d = &vm->devices[i];
		memset(&out[n], 0, sizeof(out[n]));
		if (d->ops->stat && d->ops->stat(vm, d->priv, &out[n]))
			n++;
	}
	return n;
}
