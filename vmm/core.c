/* core: what every part of the VMM uses and that uses no part of it: the time, warnings to the
 * VM's log, and the end of a VM (the first reason wins; every vCPU is kicked out of KVM_RUN). The
 * devices call down to here and to bus.c, never up into vm.c. */
#include "config.h"
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "vmm/vm.h"

uint64_t vmm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmm_log_stderr(void *ctx, const char *vm_name, const char *line)
{
	(void)ctx;
	fprintf(stderr, "nestvisor: %s: %s\n", vm_name, line);
}

void vmm_warn(struct vmm *vm, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (vm->cfg.quiet || !vm->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	vm->cfg.log(vm->cfg.log_ctx, vm->cfg.name ? vm->cfg.name : "vm", line);
}

void vmm_end(struct vmm *vm, enum vmm_end why, int code)
{
	int expected = VMM_END_RUNNING;

	if (!atomic_compare_exchange_strong(&vm->end, &expected, (int)why))
		return;
	pthread_mutex_lock(&vm->lock);
	vm->exit_code = code;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < vm->ncpus; i++) {
		if (!vm->cpu[i].run)
			continue;
		vm->cpu[i].run->immediate_exit = 1; /* covers a vCPU between checks and KVM_RUN */
		if (vm->cpu[i].started && !pthread_equal(vm->cpu[i].thread, pthread_self()))
			pthread_kill(vm->cpu[i].thread, SIGUSR1);
	}
}

void vmm_stop(struct vmm *vm)
{
	vmm_end(vm, VMM_END_STOPPED, 0);
}

