/* digest: what a paused VM's guest can see, as numbers two looks can compare: a hash of all guest
 * RAM and where each device is in its queues. A test of pause checks that nothing changes them;
 * a test of snapshots will check that a restored VM shows the same. */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include "vmm/vm.h"

/* FNV-1a over 64-bit words: guest RAM is a multiple of 4 KiB */
static uint64_t ram_hash(const uint8_t *p, uint64_t len)
{
	uint64_t h = 14695981039346656037ull, w;

	for (uint64_t i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 1099511628211ull;
	}
	return h;
}

int vmm_digest(struct vmm *vm, struct vmm_digest *d)
{
	int rc = 0;

	memset(d, 0, sizeof(*d));
	pthread_mutex_lock(&vm->pause_lock);	/* and it stays paused while we look */
	if (!vm->devices_paused)
		rc = -EBUSY;
	else {
		d->memory = ram_hash(vm->mem.host, vm->mem.size);
		d->mem_bytes = vm->mem.size;
		d->nqueues = vmm_devices_queues(vm, d->q, VMM_DIGEST_QUEUES);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return rc;
}

char *vmm_digest_json(const struct vmm_digest *d)
{
	json_object *o = json_object_new_object(), *qs = json_object_new_array();
	char hex[24];
	char *out;

	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)d->memory);
	json_object_object_add(o, "memory", json_object_new_string(hex));
	json_object_object_add(o, "memory_bytes", json_object_new_int64((int64_t)d->mem_bytes));
	for (int i = 0; i < d->nqueues; i++) {
		json_object *q = json_object_new_object();
		json_object_object_add(q, "device", json_object_new_string(d->q[i].device));
		json_object_object_add(q, "queue", json_object_new_int(d->q[i].queue));
		json_object_object_add(q, "last_avail", json_object_new_int((int)d->q[i].last_avail));
		json_object_object_add(q, "used", json_object_new_int((int)d->q[i].used));
		json_object_object_add(q, "avail", json_object_new_int(d->q[i].avail));
		json_object_array_add(qs, q);
	}
	json_object_object_add(o, "queues", qs);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}
