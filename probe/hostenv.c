/* hostenv probe: what a host offers its VMs beside KVM, as virt-host-validate checks it: vhost-net
 * and tun (fast and tap networking), the cgroup controllers libvirt and systemd confine VMs with,
 * and secure guests (AMD SEV, SEV-ES, SEV-SNP; Intel TDX). Collect, then judge. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "probe/backend.h"
#include "probe/facts.h"
#include "probe/recfile.h"

/* The controllers virt-host-validate asks for; cgroup v2 has io for blkio, cpu for cpuacct, and
 * devices as BPF programs rather than a controller. */
static const char *const v1_needed[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "blkio" };
static const char *const v2_needed[] = { "cpu", "cpuset", "memory", "io" };

static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

static void collect_cgroups(struct probe_backend *be, struct probe_env *e)
{
	char buf[4096], line[256];
	long n;

	if ((n = probe_read(be, "/sys/fs/cgroup/cgroup.controllers", buf, sizeof(buf))) >= 0) {
		e->cgroup_version = 2;	/* the unified hierarchy at the top: v2 alone */
		recfile_trim(buf);
		snprintf(e->cgroups, sizeof(e->cgroups), "%.255s", buf);
		return;
	}
	if ((n = probe_read(be, "/proc/cgroups", buf, sizeof(buf))) < 0) {
		e->cgroup_err = (int)n;
		return;
	}
	e->cgroup_version = 1;
	size_t used = 0;
	/* "#subsys_name hierarchy num_cgroups enabled" */
	for (const char *p = buf; *p;) {
		size_t len = strcspn(p, "\n");
		char name[64];
		unsigned hier, num, on;
		snprintf(line, sizeof(line), "%.*s",
			 (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
		if (line[0] != '#' && sscanf(line, "%63s %u %u %u", name, &hier, &num, &on) == 4 &&
		    on && used + strlen(name) + 2 < sizeof(e->cgroups))
			used += (size_t)snprintf(e->cgroups + used, sizeof(e->cgroups) - used,
						 "%s%s", used ? " " : "", name);
		p += len + (p[len] == '\n');
	}
}

static int param_yes(const struct probe_kvm *kvm, const char *module, const char *name)
{
	int on;
	const char *v = strcmp(kvm->module, module) ? NULL : probe_kvm_param(kvm, name);

	return v && recfile_parse_bool(v, &on) == 0 ? on : -1;
}

void probe_env_collect(struct probe_backend *be, const struct probe_kvm *kvm, struct probe_env *e)
{
	uint32_t r[4];

	/* a recording older than these checks has no /dev: what it holds is not known */
	e->dev_known = !be->replay || probe_exists(be, "/dev");
	e->vhost_net = probe_exists(be, "/dev/vhost-net");
	e->tun = probe_exists(be, "/dev/net/tun");
	collect_cgroups(be, e);
	/* AMD's memory encryption leaf: EAX bit 1 SEV, 3 SEV-ES, 4 SEV-SNP */
	if (probe_cpuid(be, 0x80000000u, 0, r) == 0 && r[0] >= 0x8000001fu &&
	    probe_cpuid(be, 0x8000001fu, 0, r) == 0) {
		e->cpu_sev = r[0] & (1u << 1);
		e->cpu_sev_es = r[0] & (1u << 3);
		e->cpu_sev_snp = r[0] & (1u << 4);
	}
	e->kvm_sev = param_yes(kvm, "kvm_amd", "sev");
	e->kvm_sev_es = param_yes(kvm, "kvm_amd", "sev_es");
	e->kvm_sev_snp = param_yes(kvm, "kvm_amd", "sev_snp");
	e->kvm_tdx = param_yes(kvm, "kvm_intel", "tdx");
}

void probe_env_check_vhost(const struct probe_facts *f, struct probe_check *c)
{
	if (!f->env.dev_known)
		probe_check_set(c, PROBE_UNKNOWN,
				"record the host again with `nestvisor probe --save DIR`",
				"the recording holds no /dev (made before nestvisor recorded it)");
	else if (f->env.vhost_net)
		probe_check_set(c, PROBE_PASS, "",
				"/dev/vhost-net: virtio-net frames move in the kernel (nestvisor "
				"run --net tap=NAME uses it)");
	else
		probe_check_set(c, PROBE_WARN, "modprobe vhost_net",
				"no /dev/vhost-net: tap networking works, but every frame passes "
				"through the VMM (slower)");
}

void probe_env_check_tun(const struct probe_facts *f, struct probe_check *c)
{
	if (!f->env.dev_known)
		probe_check_set(c, PROBE_UNKNOWN,
				"record the host again with `nestvisor probe --save DIR`",
				"the recording holds no /dev (made before nestvisor recorded it)");
	else if (f->env.tun)
		probe_check_set(c, PROBE_PASS, "",
				"/dev/net/tun: tap devices can be made (--net tap)");
	else
		probe_check_set(c, PROBE_WARN, "modprobe tun",
				"no /dev/net/tun: no tap networking (--net user still works)");
}

void probe_env_check_cgroups(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_env *e = &f->env;
	const char *const *need = e->cgroup_version == 2 ? v2_needed : v1_needed;
	size_t nneed = e->cgroup_version == 2 ? 4 : 6, used = 0;
	char missing[96] = "";

	if (e->cgroup_err) {
		probe_check_set(c, PROBE_UNKNOWN, "", "/proc/cgroups: %s",
				strerror(-e->cgroup_err));
		return;
	}
	for (size_t i = 0; i < nneed; i++)
		if (!has_word(e->cgroups, need[i]))
			used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s",
						 used ? ", " : "", need[i]);
	if (missing[0])
		probe_check_set(c, PROBE_WARN,
				"enable them (a kernel built with them, and for v1 mounted under "
				"/sys/fs/cgroup, as systemd does)",
				"cgroup v%d controllers missing: %s (libvirt and systemd confine "
				"VMs with them; nestvisor itself does not need them)",
				e->cgroup_version, missing);
	else
		probe_check_set(c, PROBE_PASS, "", "cgroup v%d controllers: %s%s",
				e->cgroup_version, e->cgroups,
				e->cgroup_version == 2 ? " (devices by BPF programs)" : "");
}

void probe_env_check_secure(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_env *e = &f->env;

	if (e->kvm_sev_snp > 0 || e->kvm_sev_es > 0 || e->kvm_sev > 0)
		probe_check_set(c, PROBE_PASS, "",
				"AMD %s: KVM runs encrypted guests (kvm_amd sev=%s, "
				"sev_es=%s, sev_snp=%s)",
				e->kvm_sev_snp > 0        ? "SEV-SNP" :
					e->kvm_sev_es > 0 ? "SEV-ES" :
							    "SEV",
				e->kvm_sev > 0 ? "Y" : "N", e->kvm_sev_es > 0 ? "Y" : "N",
				e->kvm_sev_snp > 0 ? "Y" : "N");
	else if (e->kvm_tdx > 0)
		probe_check_set(c, PROBE_PASS, "", "Intel TDX: KVM runs trust-domain guests "
				"(kvm_intel tdx=Y)");
	else if (e->cpu_sev)
		probe_check_set(c, PROBE_NOTE,
				"load kvm_amd with sev=1 (and enable SEV and SME in the "
				"firmware setup) where guests must be encrypted",
				"the CPU has SEV%s%s (CPUID 0x8000001F), but KVM does not offer it",
				e->cpu_sev_es ? ", SEV-ES" : "", e->cpu_sev_snp ? ", SEV-SNP" : "");
	else
		probe_check_set(c, PROBE_NOTE, "",
				"no secure guests (AMD SEV, Intel TDX) here: ordinary VMs do not "
				"need them");
}
