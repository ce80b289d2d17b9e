/* device: the VM's device instances, in the order they were set up. The core walks them for
 * teardown, pause and resume, and statistics, and names none of them; a device finds its own
 * instance by its ops (kvmtool's device__register, Firecracker's for_each_device). */
#ifndef NESTVISOR_VMM_DEVICE_H
#define NESTVISOR_VMM_DEVICE_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>

struct vmm;
struct vmm_dev_stat;

/* Where a device is in one of its queues (virtio: the next available entry it takes, the used
 * index it last wrote), for vmm_digest. */
struct vmm_queue_pos {
	char device[32];
	int queue;
	unsigned last_avail, used;
	int avail;	/* the driver's index: past last_avail while paused is work offered, not taken */
};

#define VMM_MAX_DEVICES 32

struct vmm_device_ops {
	const char *kind;	/* "serial", "virtio-blk": error messages and statistics */
	/* Undoes the set-up, whatever part of it was done (threads stopped first), and frees
	 * priv. Called in the reverse order of registration. */
	void (*destroy)(struct vmm *vm, void *priv);
	/* Stops changing guest memory and the state a guest can see (threads parked at a request
	 * boundary, requests in flight completed), until resume. Optional; 0 or -errno. */
	int (*pause)(struct vmm *vm, void *priv);
	void (*resume)(struct vmm *vm, void *priv);
	/* What it did for the VM's statistics (fills what, notifies, interrupts, bytes); false:
	 * nothing to say. Optional. */
	bool (*stat)(struct vmm *vm, void *priv, struct vmm_dev_stat *out);
	/* Its queues' positions, at most max: their count. Optional. */
	int (*queues)(struct vmm *vm, void *priv, struct vmm_queue_pos *out, int max);
	/* A snapshot, while paused: what a guest can see of it into *buf (malloc'd, *len bytes), 0
	 * or -errno. A device with neither save nor stateless cannot be saved (yet): a snapshot of
	 * its VM is refused, naming it. */
	int (*save)(struct vmm *vm, void *priv, void **buf, size_t *len);
	/* A restore, before the VM first runs: that state back. It comes from a file: every value
	 * is checked first (0, or -EINVAL and nothing changed). */
	int (*load)(struct vmm *vm, void *priv, const void *buf, size_t len);
	bool stateless;		/* nothing a guest can see of it (the control socket) */
	/* Its name in messages when kind says too little ("virtio-rng" for a "virtio"). Optional. */
	const char *(*name)(void *priv);
};

struct vmm_device {
	const struct vmm_device_ops *ops;
	void *priv;
	bool paused;
};

/* Registers a device instance once its state exists (its destroy copes with a set-up that stops
 * half way): 0, or -ENOSPC. */
int vmm_device_add(struct vmm *vm, const struct vmm_device_ops *ops, void *priv);
/* The nth instance (0: the first) of a kind, or NULL. */
void *vmm_device_get(const struct vmm *vm, const struct vmm_device_ops *ops, int nth);
/* A device's name for messages: its name hook's, or its kind */
const char *vmm_device_name(const struct vmm_device *d);
/* Every device, last registered first. */
void vmm_devices_destroy(struct vmm *vm);
/* Pauses every device in registration order (after the vCPUs); on a failure resumes those already
 * paused and returns it, with the device's kind in *who. */
int vmm_devices_pause(struct vmm *vm, const char **who);
void vmm_devices_resume(struct vmm *vm);
/* Statistics of every device that has some, in order: their count (at most max). */
int vmm_devices_stat(struct vmm *vm, struct vmm_dev_stat *out, int max);
int vmm_devices_queues(struct vmm *vm, struct vmm_queue_pos *out, int max);

/* For a save hook whose state is one plain struct: a copy of its n bytes, taken under lock. */
int vmm_state_save(pthread_mutex_t *lock, const void *state, size_t n, void **buf, size_t *len);
/* For a load hook whose state is one plain struct: len must be n, and valid (given a copy) must
 * accept it; then it is written under lock. 0, or -EINVAL and nothing changed. */
int vmm_state_load(pthread_mutex_t *lock, void *state, size_t n, const void *buf, size_t len,
		   bool (*valid)(const void *copy));
/* A bool read from a file holds 0 or 1, or the file is refused (any other value is undefined
 * behaviour once read as a bool). */
bool vmm_state_bool_ok(const bool *b);

#endif
