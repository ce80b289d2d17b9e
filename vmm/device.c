/* device: the registry of the VM's device instances (see device.h). */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
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

const char *vmm_device_name(const struct vmm_device *d)
{
	const char *n = d->ops->name ? d->ops->name(d->priv) : NULL;

	return n ? n : d->ops->kind;
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
				*who = vmm_device_name(d);
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

int vmm_state_save(pthread_mutex_t *lock, const void *state, size_t n, void **buf, size_t *len)
{
	if (!(*buf = malloc(n)))
		return -ENOMEM;
	pthread_mutex_lock(lock);
	memcpy(*buf, state, n);
	pthread_mutex_unlock(lock);
	*len = n;
	return 0;
}

int vmm_state_load(pthread_mutex_t *lock, void *state, size_t n, const void *buf, size_t len,
		   bool (*valid)(const void *copy))
{
	void *copy = len == n ? malloc(n) : NULL;

	if (!copy)
		return len == n ? -ENOMEM : -EINVAL;
	memcpy(copy, buf, n);	/* aligned as the struct is, for valid to read */
	if (!valid(copy)) {
		free(copy);
		return -EINVAL;
	}
	pthread_mutex_lock(lock);
	memcpy(state, copy, n);
	pthread_mutex_unlock(lock);
	free(copy);
	return 0;
}

bool vmm_state_bool_ok(const bool *b)
{
	uint8_t v;

	memcpy(&v, b, 1);
	return v <= 1;
}
