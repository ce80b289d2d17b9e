/* vcpu-state: a vCPU's state as one section of a snapshot (vcpu-state.c). */
#ifndef NESTVISOR_VMM_VCPU_STATE_H
#define NESTVISOR_VMM_VCPU_STATE_H

#include <stddef.h>

struct vmm;
struct vmm_vcpu;

#define VMM_VCPU_STATE_VERSION 1

/* A parked vCPU's state into *buf (malloc'd, *len bytes): 0 or -errno. */
int vmm_vcpu_state_save(struct vmm *vm, struct vmm_vcpu *c, void **buf, size_t *len);
/* Back into a vCPU that has not run yet, after checking that the section adds up and that this
 * host can give the guest the CPU it was shown: 0, or -errno with err. */
int vmm_vcpu_state_load(struct vmm *vm, struct vmm_vcpu *c, const void *buf, size_t len,
			char *err, size_t errlen);

#endif
