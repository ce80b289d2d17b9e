/* pause: a VM stopped and started again as a whole (its vCPUs, then every device: device.h), and
 * what may only be done while it is: a vCPU's nested state read or written. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include "nested/nested.h"
#include "vmm/vm.h"

void vmm_vcpus_pause(struct vmm *vm)
{
	atomic_store(&vm->paused, true);
	for (int i = 0; i < vm->ncpus; i++) {
		if (!vm->cpu[i].started || pthread_equal(vm->cpu[i].thread, pthread_self()))
			continue;
		/* a vCPU past its check of `paused` but not yet in KVM_RUN takes the signal before
		 * it enters: without this it would run on until its next exit (a halted guest: its
		 * next interrupt), and the pause waits 5 s and gives up */
		vm->cpu[i].run->immediate_exit = 1;
		pthread_kill(vm->cpu[i].thread, SIGUSR1);
	}
}

/* ACPI S3, the guest's own pause (acpi-pm.c, on its SLP_EN): every vCPU parks, and the VM's main
 * thread looks for a wake event (sleep.c). */
void vmm_suspend(struct vmm *vm)
{
	vm->suspended_at = time(NULL);
	atomic_store(&vm->wake_request, false);
	atomic_store(&vm->suspended, true);
	vmm_vcpus_pause(vm);
	pthread_mutex_lock(&vm->lock);
	pthread_cond_broadcast(&vm->cond);	/* the main thread now looks for wake events */
	pthread_mutex_unlock(&vm->lock);
}

void vmm_vcpus_resume(struct vmm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->paused, false);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

/* The vCPUs parked first (each finishes the exit it is in), then every device in the order they
 * were set up: from then on nothing changes guest memory or what the guest can see. */
int vmm_pause(struct vmm *vm)
{
	const char *who = "?";
	int rc = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->devices_paused) {
		vmm_vcpus_pause(vm);
		if ((rc = vmm_wait_parked(vm)) < 0)
			vmm_warn(vm, "pause: a vCPU did not stop within 5 s; the VM runs on");
		else if ((rc = vmm_devices_pause(vm, &who)) < 0)
			vmm_warn(vm, "pause: the %s device did not stop (%s); the VM runs on", who,
				 strerror(-rc));
		if (rc < 0 && !atomic_load(&vm->suspended))
			vmm_vcpus_resume(vm);
		vm->devices_paused = rc == 0;
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return rc;
}

int vmm_resume(struct vmm *vm)
{
	bool was;

	pthread_mutex_lock(&vm->pause_lock);
	if ((was = vm->devices_paused))
		vmm_devices_resume(vm);	/* last paused first */
	vm->devices_paused = false;
	pthread_mutex_unlock(&vm->pause_lock);
	if (atomic_load(&vm->suspended)) { /* in S3: wake it as a key would, at its waking vector */
		if (!was)
			atomic_store(&vm->wake_request, true);
		return 0;
	}
	vmm_vcpus_resume(vm);
	return 0;
}

/* Every started vCPU out of KVM_RUN (parked by a pause, or gone): only then may its state be read
 * or written. */
int vmm_wait_parked(struct vmm *vm)
{
	struct timespec until;
	bool all = false;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&vm->lock);
	while (atomic_load(&vm->paused)) {
		int live = 0;
		for (int i = 0; i < vm->ncpus; i++)
			live += vm->cpu[i].started && !atomic_load(&vm->cpu[i].exited);
		if ((all = vm->parked >= live) ||
		    pthread_cond_timedwait(&vm->cond, &vm->lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&vm->lock);
	return all ? 0 : -EBUSY;
}

int vmm_nested_state_save(struct vmm *vm, int cpu, void **buf, size_t *len)
{
	int rc;

	*buf = NULL;
	*len = 0;
	if (cpu < 0 || cpu >= vm->ncpus)
		return -EINVAL;
	if ((rc = vmm_wait_parked(vm)) < 0)
		return rc;
	return nested_state_save(vm->cpu[cpu].fd, vm->sysfd, buf, len);
}

int vmm_nested_state_restore(struct vmm *vm, int cpu, const void *buf, size_t len)
{
	int rc;

	if (cpu < 0 || cpu >= vm->ncpus)
		return -EINVAL;
	if ((rc = vmm_wait_parked(vm)) < 0)
		return rc;
	return nested_state_restore(vm->cpu[cpu].fd, buf, len);
}

