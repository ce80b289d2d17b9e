/* park: a thread of the VM's (a device's I/O thread, a network backend's) stopped where it holds
 * no request, for a pause: asked by the controller, acknowledged by the thread at the top of its
 * loop, released by resume. */
#ifndef NESTVISOR_VMM_PARK_H
#define NESTVISOR_VMM_PARK_H

#include <pthread.h>
#include <stdbool.h>

struct vmm_park {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool req, parked, stop;
};

void vmm_park_init(struct vmm_park *p);
/* The controller: asks, wakes the thread (wake(arg)), and waits until it has parked, 5 s at most
 * (a request may wait on a slow disk): 0, or -ETIMEDOUT (the request withdrawn). */
int vmm_park_request(struct vmm_park *p, void (*wake)(void *arg), void *arg);
void vmm_park_release(struct vmm_park *p);
/* The thread, between requests: waits here while a pause is asked for. */
void vmm_park_point(struct vmm_park *p);
/* Teardown: a parked thread leaves vmm_park_point, and none parks again. */
void vmm_park_stop(struct vmm_park *p);

#endif
