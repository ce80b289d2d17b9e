/* nested probe: can guests run their own hypervisor here, and if not, precisely why. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "probe/facts.h"

/* The module's nested parameter is there but says neither yes nor no (a damaged recording). */
static bool nested_param_bad(const struct probe_kvm *kvm)
{
	return probe_kvm_param(kvm, "nested") && probe_kvm_param_bool(kvm, "nested") < 0;
}

bool probe_nested_possible(const struct probe_facts *f, char *why, size_t len)
{
	const struct probe_kvm *kvm = &f->kvm;
	const char *nested = probe_kvm_param(kvm, "nested");
	const char *hv = probe_hv_name(&f->hv);

	if (!strcmp(kvm->module, "kvm_pvm"))
		snprintf(why, len,
			 "the software KVM (kvm_pvm) offers its guests no VT-x/AMD-V%s%s%s",
			 hv ? "; the outer hypervisor (" : "", hv ? hv : "",
			 hv ? ") does not pass them to this host" : "");
	else if (f->cpu.cpuid_err == 0 && !f->cpu.vmx && !f->cpu.svm)
		snprintf(why, len, "the CPU this host sees has no VT-x/AMD-V to give guests%s%s",
			 hv ? ": nested virtualization is off on the outer hypervisor, " : "", hv ? hv : "");
	else if (probe_cpu_firmware_disabled(&f->cpu))
		snprintf(why, len, "firmware keeps %s off, so KVM cannot load",
			 f->cpu.vmx ? "VT-x" : "SVM");
	else if (!kvm->module[0])
		snprintf(why, len, "no KVM vendor module is loaded");
	else if (probe_kvm_param_bool(kvm, "nested") == 0)
		snprintf(why, len, "%s is loaded with nested=%s", kvm->module, nested);
	else if (nested_param_bad(kvm))
		snprintf(why, len,
			 "%s's nested parameter reads \"%s\", which is neither 0/1 nor Y/N",
			 kvm->module, nested);
	else if (kvm->recorded == 0 && kvm->open_err == 0 && kvm->cpuid_err == 0 &&
		 !kvm->cpuid_vmx && !kvm->cpuid_svm)
		snprintf(why, len, "KVM_GET_SUPPORTED_CPUID offers guests neither VMX nor SVM");
	else if (kvm->recorded || kvm->open_err)
		snprintf(why, len, "%s nested=%s, but /dev/kvm could not confirm it", kvm->module,
			 nested ? nested : "?");
	else if (kvm->run_err != 0 &&
		 kvm->run_err != -ECANCELED) /* one verdict: no guest, no nested guest */
		snprintf(why, len,
			 "%s offers %s to guests, but KVM did not run a guest here (see kvm.run)",
			 kvm->module, kvm->cpuid_vmx ? "VMX" : "SVM");
	else {
		snprintf(why, len, "%s nested=%s and KVM offers %s in guest CPUID", kvm->module,
			 nested ? nested : "(default)", kvm->cpuid_vmx ? "VMX" : "SVM");
		return true;
	}
	return false;
}

void probe_nested_check(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_kvm *kvm = &f->kvm;
	char why[256], fix[384] = "";
	bool yes = probe_nested_possible(f, why, sizeof(why));

	if (yes) {
		probe_check_set(c, PROBE_PASS, "", "guests can run their own hypervisor: yes (%s)",
				why);
		return;
	}
	if (probe_kvm_param_bool(kvm, "nested") == 0)
		snprintf(fix, sizeof(fix),
			 "echo 'options %s nested=1' > /etc/modprobe.d/kvm-nested.conf, stop all "
			 "VMs, then reload: modprobe -r %s && modprobe %s (or reboot)",
			 kvm->module, kvm->module, kvm->module);
	else if (!strcmp(kvm->module, "kvm_pvm") || (!f->cpu.vmx && !f->cpu.svm))
		snprintf(fix, sizeof(fix), "not a setting on this host: %s",
			 probe_hv_name(&f->hv) ? "enable nested virtualization on the outer "
						 "hypervisor, or use an instance type that offers "
						 "it" :
						 "use a CPU with VT-x or AMD-V");
	else if (probe_cpu_firmware_disabled(&f->cpu))
		snprintf(fix, sizeof(fix), "enable %s in the firmware setup (see cpu.firmware)",
			 f->cpu.vmx ? "VT-x" : "SVM");
	else if (!kvm->module[0])
		snprintf(fix, sizeof(fix), "modprobe %s", f->cpu.vmx ? "kvm_intel" : "kvm_amd");
	else
		snprintf(fix, sizeof(fix),
			 "check `dmesg | grep -i kvm` for why KVM offers guests no %s",
			 f->cpu.vmx ? "VMX" : "SVM");
	if (nested_param_bad(kvm))
		probe_check_set(c, PROBE_UNKNOWN,
				"cat /sys/module/kvm_*/parameters/nested; record the host again if "
				"it reads 0, 1, Y or N there",
				"guests can run their own hypervisor: unknown (%s)", why);
	else if (kvm->recorded && !fix[0])
		probe_check_set(c, PROBE_UNKNOWN, "",
				"guests can run their own hypervisor: unknown (%s)", why);
	else
		probe_check_set(c, PROBE_WARN, fix, "guests can run their own hypervisor: no (%s)",
				why);
}

void probe_nested_check_state(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_kvm *kvm = &f->kvm;
	char why[256];
	int size = -1;

	for (int i = 0; i < kvm->ncaps; i++)
		if (!strcmp(kvm->caps[i].name, "KVM_CAP_NESTED_STATE"))
			size = kvm->caps[i].val;
	if (kvm->recorded || kvm->open_err || size < 0)
		probe_check_set(c, PROBE_UNKNOWN, "",
				"KVM_CAP_NESTED_STATE not read (/dev/kvm unavailable)");
	else if (size > 0)
		probe_check_set(c, PROBE_PASS, "",
				"KVM_CAP_NESTED_STATE = %d bytes: VMs running nested guests can be "
				"saved and migrated",
				size);
	else if (probe_nested_possible(f, why, sizeof(why)))
		probe_check_set(c, PROBE_WARN, "use Linux 4.19 or newer",
				"KVM_CAP_NESTED_STATE = 0: a VM running nested guests cannot be "
				"saved or migrated");
	else
		probe_check_set(c, PROBE_NOTE, "",
				"KVM_CAP_NESTED_STATE = 0 (KVM_GET_NESTED_STATE unavailable), as "
				"expected without nested virtualization");
}
