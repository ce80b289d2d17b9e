/* kvm probe: what /dev/kvm offers, and whether it really runs a guest (internal to probe/). */
#ifndef NESTVISOR_PROBE_KVM_H
#define NESTVISOR_PROBE_KVM_H

#include <stdbool.h>
#include <stddef.h>

struct probe_backend;
struct probe_kvm;

/* Backend ops: the live host's ioctls, or a recording's kvm.json. */
int probe_kvm_live_query(struct probe_backend *be, struct probe_kvm *kvm, bool functional);
int probe_kvm_replay_query(struct probe_backend *be, struct probe_kvm *kvm, bool functional);

/* How many times slower the guest ran the kernel-mode loop (below) than this CPU natively, one exit
 * subtracted: 0 when not measured, 1 when the loop took less than one more exit's time (native
 * speed: hardware runs it in a few microseconds, which an exit's time hides) */
double probe_kvm_ring0_slowdown(const struct probe_kvm *kvm);

/* kvm.json, the recorded form of the /dev/kvm facts. */
char *probe_kvm_to_json(const struct probe_kvm *kvm);
int probe_kvm_from_json(const char *text, size_t len, struct probe_kvm *kvm, char *err,
			size_t errlen);

/* The tiny guest: PROBE_KVM_GUEST_OUTS port writes, each an exit timed, then the end through port
 * 0xf4; fills the run_* facts. 32 give a stable mean at a third of the cost of 100 (8 us each
 * here).
 */
#define PROBE_KVM_GUEST_OUTS 32
/* ... then a loop between two marks (port 0x81) that times kernel-mode code: 2 instructions an
 * iteration, each emulated on a software KVM, native on hardware */
#define PROBE_KVM_LOOP 4000
int probe_kvm_run_guest(int sysfd, struct probe_kvm *kvm);

struct probe_kvm_cap_def { const char *name; int num; bool required; };
extern const struct probe_kvm_cap_def probe_kvm_caps[];
extern const size_t probe_kvm_ncaps;

#endif
