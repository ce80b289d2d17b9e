/* stats: exit accounting summed over vCPUs: by reason, by port and by MMIO region, with time in the
 * VMM. */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/cpumodel.h"
#include "vmm/ctlproto.h"
#include "vmm/vm.h"

static const char *const reason_names[VMM_EXIT_REASONS] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq-window",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail-entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_INTERNAL_ERROR] = "internal-error",
	[KVM_EXIT_SYSTEM_EVENT] = "system-event",
};

/* A counter summed over the vCPUs; each vCPU writes its own, readers load them racily but whole. */
#define SUM(vm, field) ({							\
	uint64_t sum_ = 0;							\
	for (int i_ = 0; i_ < (vm)->ncpus; i_++)				\
		sum_ += __atomic_load_n(&(vm)->cpu[i_].field, __ATOMIC_RELAXED);	\
	sum_;									\
})

static int row_cmp(const void *a, const void *b)
{
	const struct vmm_stat_row *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->what, y->what);
}

/* Keeps the busiest max rows of n candidates. */
static int top_rows(struct vmm_stat_row *all, int n, struct vmm_stat_row *out, int max)
{
	qsort(all, (size_t)n, sizeof(*all), row_cmp);
	n = n < max ? n : max;
	memcpy(out, all, (size_t)n * sizeof(*all));
	return n;
}

static void port_rows(struct vmm *vm, struct vmm_stats *s)
{
	static __thread struct vmm_stat_row all[512];
	int n = 0;

	for (uint32_t p = 0; p < 65536; p++) {
		uint64_t cnt = SUM(vm, port_count[p]), ns = vmm_ticks_ns(vm, SUM(vm, port_ticks[p]));
		if (!cnt)
			continue;
		if (n ==
		    (int)(sizeof(all) /
			  sizeof(all[0]))) { /* keep the list bounded under a port storm */
			n = top_rows(all, n, all, 256);
		}
		int owner = vm->port_owner[p];
		snprintf(all[n].what, sizeof(all[n].what), "0x%04x %s", p,
			 owner ? vm->pio[owner - 1].name : "unclaimed");
		all[n].count = cnt;
		all[n++].ns = ns;
	}
	s->nports = top_rows(all, n, s->ports, 16);
}

void vmm_stats_get(struct vmm *vm, struct vmm_stats *s)
{
	struct vmm_stat_row rows[VMM_EXIT_REASONS], mm[VMM_MAX_MMIO_DEVS + 1];
	int n = 0, nm = 0;

	memset(s, 0, sizeof(*s));
	for (int r = 0; r < VMM_EXIT_REASONS; r++) {
		uint64_t cnt = SUM(vm, reason_count[r]), ns = vmm_ticks_ns(vm, SUM(vm, reason_ticks[r]));
		if (!cnt)
			continue;
		snprintf(rows[n].what, sizeof(rows[n].what), "%s",
			 reason_names[r] ? reason_names[r] : "other");
		rows[n].count = cnt;
		rows[n++].ns = ns;
		s->exits += cnt;
		s->ns_in_vmm += ns;
	}
	s->nreasons = top_rows(rows, n, s->reasons, 32);
	for (int d = 0; d <= VMM_MAX_MMIO_DEVS; d++) {	/* the last: unclaimed */
		uint64_t cnt = SUM(vm, mmio_count[d]), ns = vmm_ticks_ns(vm, SUM(vm, mmio_ticks[d]));
		if (!cnt)
			continue;
		snprintf(mm[nm].what, sizeof(mm[nm].what), "%s",
			 d < vm->nmmio ? vm->mmio[d].name : "unclaimed");
		mm[nm].count = cnt;
		mm[nm++].ns = ns;
	}
	s->nmmio = top_rows(mm, nm, s->mmio, 16);
	port_rows(vm, s);
	s->uptime_ns = vm->start_ns ? vmm_now_ns() - vm->start_ns : 0;
	s->cpus = vm->ncpus;
	s->mem = vm->mem.size;
	s->mem_touched = vmm_mem_resident(&vm->mem);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		s->vmm_rss_max = (uint64_t)ru.ru_maxrss * 1024;
	s->paused = atomic_load(&vm->paused);
	s->coalesced = __atomic_load_n(&vm->coalesced, __ATOMIC_RELAXED);
	s->nested = vmm_nested(vm, &s->nested_state_bytes);
	snprintf(s->cpu_model, sizeof(s->cpu_model), "%s", vmm_cpumodel_name(vm->cpu_model));
	if (vm->tsc_khz)
		snprintf(s->exit_clock, sizeof(s->exit_clock), "tsc %u kHz%s", vm->tsc_khz,
			 vm->tsc_invariant ? "" : ", variant");
	else
		snprintf(s->exit_clock, sizeof(s->exit_clock), "clock_gettime");
	s->ndevs = vmm_devices_stat(vm, s->devs, VMM_STAT_DEVS);
}

/* "nested: on (...)": whether the guest may run its own hypervisor, and what saving that state
 * takes. */
static void nested_line(FILE *out, bool on, int bytes)
{
	fprintf(out, "nested: %s; KVM's nested state per vCPU: ",
		on ? "on, the guest may run its own hypervisor" : "off");
	if (bytes > 0)
		fprintf(out, "%d bytes (KVM_CAP_NESTED_STATE)\n", bytes);
	else
		fprintf(out, "none (KVM_CAP_NESTED_STATE is 0 here)\n");
}

static void print_rows(FILE *out, const char *title, const struct vmm_stat_row *r, int n)
{
	if (!n)
		return;
	fprintf(out, "  %-28s %12s %12s %10s\n", title, "exits", "VMM time", "avg");
	for (int i = 0; i < n; i++)
		fprintf(out, "  %-28s %12llu %10.3f ms %7.2f us\n", r[i].what,
			(unsigned long long)r[i].count, r[i].ns / 1e6,
			r[i].count ? r[i].ns / 1e3 / (double)r[i].count : 0.0);
}

void vmm_stats_print(const struct vmm_stats *s, FILE *out)
{
	fprintf(out, "exits: %llu in %.3f s; time in the VMM handling them: %.3f ms (timed by %s)\n",
		(unsigned long long)s->exits, s->uptime_ns / 1e9, s->ns_in_vmm / 1e6,
		s->exit_clock[0] ? s->exit_clock : "?");
	if (s->coalesced)
		fprintf(out, "port writes queued by KVM instead of exiting (coalesced): %llu\n",
			(unsigned long long)s->coalesced);
	fprintf(out,
		"memory: guest RAM %llu MiB, %llu KiB of it touched; peak RSS of the VMM process "
		"%llu KiB\n",
		(unsigned long long)(s->mem >> 20), (unsigned long long)(s->mem_touched >> 10),
		(unsigned long long)(s->vmm_rss_max >> 10));
	nested_line(out, s->nested, s->nested_state_bytes);
	if (s->cpu_model[0])
		fprintf(out, "cpu: %s%s\n", s->cpu_model,
			!strcmp(s->cpu_model, "baseline") ? " (x86-64 without cmpxchg16b, XSAVE, "
							    "AVX...: --cpu host shows all)" :
							    " (every feature KVM supports)");
	if (s->ndevs)
		fprintf(out, "  %-28s %12s %12s %12s\n", "by device", "notified", "interrupts",
			"bytes");
	for (int i = 0; i < s->ndevs; i++)
		fprintf(out, "  %-28s %12llu %12llu %12llu\n", s->devs[i].what,
			(unsigned long long)s->devs[i].notifies,
			(unsigned long long)s->devs[i].interrupts,
			(unsigned long long)s->devs[i].bytes);
	print_rows(out, "by reason", s->reasons, s->nreasons);
	print_rows(out, "by port", s->ports, s->nports);
	print_rows(out, "by MMIO region", s->mmio, s->nmmio);
}

static json_object *rows_json(const struct vmm_stat_row *r, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "what", json_object_new_string(r[i].what));
		json_object_object_add(o, "count", json_object_new_int64((int64_t)r[i].count));
		json_object_object_add(o, "ns", json_object_new_int64((int64_t)r[i].ns));
		json_object_array_add(a, o);
	}
	return a;
}

char *vmm_stats_json(const struct vmm_stats *s)
{
	json_object *o = json_object_new_object();
	char *out;

	json_object_object_add(o, "exits", json_object_new_int64((int64_t)s->exits));
	json_object_object_add(o, "ns_in_vmm", json_object_new_int64((int64_t)s->ns_in_vmm));
	json_object_object_add(o, "uptime_ns", json_object_new_int64((int64_t)s->uptime_ns));
	json_object_object_add(o, "cpus", json_object_new_int(s->cpus));
	json_object_object_add(o, "mem", json_object_new_int64((int64_t)s->mem));
	json_object_object_add(o, "mem_touched", json_object_new_int64((int64_t)s->mem_touched));
	json_object_object_add(o, "vmm_rss_max", json_object_new_int64((int64_t)s->vmm_rss_max));
	json_object_object_add(o, "paused", json_object_new_boolean(s->paused));
	json_object_object_add(o, "coalesced", json_object_new_int64((int64_t)s->coalesced));
	json_object_object_add(o, "nested", json_object_new_boolean(s->nested));
	json_object_object_add(o, "nested_state_bytes", json_object_new_int(s->nested_state_bytes));
	json_object_object_add(o, "cpu_model", json_object_new_string(s->cpu_model));
	json_object_object_add(o, "exit_clock", json_object_new_string(s->exit_clock));
	json_object *devs = json_object_new_array();
	for (int i = 0; i < s->ndevs; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "what", json_object_new_string(s->devs[i].what));
		json_object_object_add(d, "notifies",
				       json_object_new_int64((int64_t)s->devs[i].notifies));
		json_object_object_add(d, "interrupts",
				       json_object_new_int64((int64_t)s->devs[i].interrupts));
		json_object_object_add(d, "bytes",
				       json_object_new_int64((int64_t)s->devs[i].bytes));
		json_object_array_add(devs, d);
	}
	json_object_object_add(o, "devices", devs);
	json_object_object_add(o, "by_reason", rows_json(s->reasons, s->nreasons));
	json_object_object_add(o, "by_port", rows_json(s->ports, s->nports));
	json_object_object_add(o, "by_mmio", rows_json(s->mmio, s->nmmio));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* ---- the client's side: the same keys, read back (nestvisor ps/stats, the TUI) ---- */
static int rows_from(json_object *o, const char *key, struct vmm_stat_row *r, int max)
{
	json_object *a;
	int n = 0;

	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(a) && n < max; i++, n++) {
		json_object *e = json_object_array_get_idx(a, i);
		ctl_member_str(e, "what", r[n].what, sizeof(r[n].what));
		r[n].count = (uint64_t)ctl_member_int(e, "count");
		r[n].ns = (uint64_t)ctl_member_int(e, "ns");
	}
	return n;
}

int vmm_stats_from_json(const char *text, struct vmm_stats *s)
{
	json_object *o = text ? json_tokener_parse(text) : NULL, *devs;

	memset(s, 0, sizeof(*s));
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	s->exits = (uint64_t)ctl_member_int(o, "exits");
	s->ns_in_vmm = (uint64_t)ctl_member_int(o, "ns_in_vmm");
	s->uptime_ns = (uint64_t)ctl_member_int(o, "uptime_ns");
	s->cpus = (int)(uint64_t)ctl_member_int(o, "cpus");
	s->mem = (uint64_t)ctl_member_int(o, "mem");
	s->mem_touched = (uint64_t)ctl_member_int(o, "mem_touched");
	s->vmm_rss_max = (uint64_t)ctl_member_int(o, "vmm_rss_max");
	s->paused = (uint64_t)ctl_member_int(o, "paused");
	s->coalesced = (uint64_t)ctl_member_int(o, "coalesced");
	s->nested = (uint64_t)ctl_member_int(o, "nested");
	s->nested_state_bytes = (int)(uint64_t)ctl_member_int(o, "nested_state_bytes");
	ctl_member_str(o, "cpu_model", s->cpu_model, sizeof(s->cpu_model));
	ctl_member_str(o, "exit_clock", s->exit_clock, sizeof(s->exit_clock));
	if (json_object_object_get_ex(o, "devices", &devs) &&
	    json_object_is_type(devs, json_type_array))
		for (size_t i = 0;
		     i < json_object_array_length(devs) && s->ndevs < VMM_STAT_DEVS; i++) {
			json_object *d = json_object_array_get_idx(devs, i);
			struct vmm_dev_stat *v = &s->devs[s->ndevs++];
			ctl_member_str(d, "what", v->what, sizeof(v->what));
			v->notifies = (uint64_t)ctl_member_int(d, "notifies");
			v->interrupts = (uint64_t)ctl_member_int(d, "interrupts");
			v->bytes = (uint64_t)ctl_member_int(d, "bytes");
		}
	s->nreasons = rows_from(o, "by_reason", s->reasons, 32);
	s->nports = rows_from(o, "by_port", s->ports, 16);
	s->nmmio = rows_from(o, "by_mmio", s->mmio, 16);
	json_object_put(o);
	return 0;
}
