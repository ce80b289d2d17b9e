/* test_probe_replay: every recorded host replays to the verdicts it should, and corrupt recordings
 * never crash. */
#include "config.h"
#include <errno.h>
#include "tests/testutil.h"
#include "probe/facts.h"
#include "probe/probe.h"

/* The check order the letters below follow (P PASS, N NOTE, W WARN, F FAIL, U UNKNOWN). */
static const char *const check_order[] = {
	"probe.input",  "cpu.model",  "cpu.hwvirt",   "cpu.firmware",  "cpu.slat",
	"cpu.vpid",     "cpu.ug",     "cpu.apicv",    "cpu.shadow",    "host.hypervisor",
	"kvm.module",   "kvm.dev",    "kvm.caps",     "kvm.run",       "nested.support",
	"nested.state", "iommu.acpi", "iommu.active", "iommu.cmdline", "iommu.intremap",
	"pci.devices",  "env.vhost",  "env.tun",      "env.cgroups",   "env.secure",
};
#define NORDER (sizeof(check_order) / sizeof(check_order[0]))

struct expect_text { const char *id; const char *needle; };	/* id "fix:ID" looks in the fix */
struct expect_dev { const char *addr; const char *verdict; const char *reason; };

struct host_case {
	const char *dir;
	const char *statuses;
	int hw_vms, nested, pt_ready, pt_candidates;
	const char *hypervisor;		/* NULL: bare metal */
	struct expect_text text[8];
	struct expect_dev devs[8];
};

static const struct host_case cases[] = {
	{ "intel-vtx-nested",
	  "PPPPPPPPPPPPPPPPPPPPPWPPN",
	  1,
	  1,
	  3,
	  6,
	  NULL,
	  { { "cpu.slat", "VMX capability MSRs" },
	    { "cpu.firmware", "0x5: VMX allowed" },
	    { "nested.support", "kvm_intel nested=Y and KVM offers VMX" },
	    { "nested.state", "8320" },
	    { "iommu.intremap", "DMAR-IR: Enabled IRQ remapping" },
	    { "iommu.active", "dmar0 dmar1 dmar2" } },
	  { { "0000:31:00.0", "ready", "flr bus" },
	    { "0000:4b:00.0", "ready", "group 50" },
	    { "0000:00:14.0", "not-ready", "00:14.2" },
	    { "0000:00:00.0", "not-ready", "no reset method" } } },
	{ "amd-svm-avic",
	  "PPPPPPPPPPPPPPPPPPNPPPPPP",
	  1,
	  1,
	  2,
	  2,
	  NULL,
	  { { "cpu.firmware", "VM_CR (0xC0010114) = 0x8" },
	    { "cpu.slat", "CPUID 0x8000000A EDX" },
	    { "cpu.apicv", "avic" },
	    { "iommu.cmdline", "iommu=pt" },
	    { "fix:iommu.cmdline", "drop iommu=pt" },
	    { "nested.support", "kvm_amd nested=1" },
	    { "env.cgroups", "cgroup v1 controllers: cpuset cpu cpuacct blkio memory devices" },
	    { "env.secure", "AMD SEV-ES: KVM runs encrypted guests (kvm_amd sev=Y, sev_es=Y" } },
	  { { "0000:c1:00.0", "ready", "vfio-pci" },
	    { "0000:41:00.0", "ready", "group 30" },
	    { "0000:00:00.0", "host-infrastructure", "bridges" } } },
	{ "intel-vtx-disabled-by-firmware",
	  "PPPFPPPPPPFFUUWUPWPNNUUUN",
	  0,
	  0,
	  0,
	  1,
	  NULL,
	  { { "cpu.firmware", "locked with VMX outside SMX off" },
	    { "fix:cpu.firmware", "Intel Virtualization Technology" },
	    { "fix:kvm.module", "firmware setup first" },
	    { "nested.support", "firmware keeps VT-x off" },
	    { "iommu.active", "DMAR table but the kernel runs no IOMMU" },
	    { "fix:iommu.active", "intel_iommu=on" } },
	  { { "0000:00:02.0", "not-ready", "no active IOMMU" } } },
	{ "cloud-guest-no-nested",
	  "PPFNNNNNNNFFUUWUWWPNNUUUN",
	  0,
	  0,
	  0,
	  3,
	  "Amazon EC2 Nitro (KVM)",
	  { { "host.hypervisor", "guest of Amazon EC2 Nitro (KVM)" },
	    { "host.hypervisor", "m5.large" },
	    { "cpu.hwvirt", "does not pass them through" },
	    { "fix:nested.support", "outer hypervisor" },
	    { "kvm.module", "no KVM module" },
	    { "iommu.acpi", "no virtual IOMMU" } },
	  { { "0000:00:05.0", "not-ready", "no active IOMMU" },
	    { "0000:00:01.0", "host-infrastructure", NULL } } },
	{ "gpu-group-shared-usb",
	  "PPPPPPPWPPPPPPPPPPPPPUUUN",
	  1,
	  1,
	  1,
	  5,
	  NULL,
	  { { "cpu.apicv", "kvm_amd avic=0 turns it off" },
	    { "cpu.firmware", "kvm_amd runs guests" },
	    { "iommu.active", "ivhd0" } },
	  { { "0000:0b:00.0", "not-ready",
	      "IOMMU group 14 is not viable while 02:00.0 (USB controller, xhci_hcd), 02:00.1 "
	      "(SATA controller, ahci), 0b:00.1 (Audio device, snd_hda_intel) are bound to a host "
	      "driver: unbind them" },
	    { "0000:0b:00.1", "not-ready", "group 14" },
	    { "0000:02:00.2", "host-infrastructure", NULL },
	    { "0000:0c:00.0", "ready", "reset: bus" } } },
	{ "firecracker-pvm-amd",
	  "PPWNNNNNNNNPPNWNWWPNPUUUN",
	  0, /* VMs run, but not hardware-accelerated: test_software_kvm */
	  0,
	  0,
	  0,
	  "Firecracker (KVM)",
	  { { "kvm.module", "kvm_pvm (software KVM" },
	    { "kvm.run", "software KVM: works without VT-x/AMD-V" },
	    { "nested.support", "kvm_pvm" },
	    { "host.hypervisor", "FIRECK" },
	    { "kvm.caps", "required capabilities present" } },
	  { { "0000:00:03.0", "paravirtual", "virtio" },
	    { "0000:00:00.0", "host-infrastructure", NULL } } },
	/* recorded live in the AMD-V test host (tests/svmhost): kvm_amd with nested=1 under QEMU's
	   TCG */
	{ "qemu-tcg-kvm-amd",
	  "PPPPPPPNNNPPPPPPWWPNNUUUN",
	  1,
	  1,
	  0,
	  1,
	  "QEMU (QEMU TCG)",
	  { { "kvm.module", "kvm_amd loaded; nested=1 npt=Y" },
	    { "cpu.slat", "NPT (CPUID 0x8000000A EDX: npt)" },
	    { "kvm.run", "ended through port 0xf4" },
	    { "nested.support", "kvm_amd nested=1 and KVM offers SVM" },
	    { "nested.state", "KVM_CAP_NESTED_STATE = 4224 bytes" },
	    { "host.hypervisor", "emulator" } },
	  { { "0000:00:01.1", "not-ready", "no active IOMMU" },
	    { "0000:00:00.0", "host-infrastructure", NULL } } },
	/* the IOMMU test host (tests/svmhost/i-vfio.sh), e1000e, lpc_ich and i801_smbus bound */
	{ "qemu-q35-intel-iommu",
	  "PPPPPPPNNNPPPPPPPPNPPPPPN",
	  1,
	  1,
	  1,
	  3,
	  "QEMU (QEMU TCG)",
	  { { "iommu.acpi", "ACPI DMAR table (Intel VT-d); firmware flags 0x1" },
	    { "iommu.active",
	      "1 IOMMU unit(s) (dmar0); 3 IOMMU groups, default domains: identity" },
	    { "iommu.intremap", "/proc/interrupts: 8 interrupts go through the IOMMU's remapping" },
	    { "fix:iommu.cmdline", "drop iommu=pt" } },
	  { { "0000:00:01.0", "ready",
	      "IOMMU group 1 to itself; reset: pm; the host's e1000e has it" },
	    { "0000:00:1f.2", "not-ready",
	      "group 2 is not viable while 00:1f.0 (ISA bridge, lpc_ich), 00:1f.3 (SMBus, "
	      "i801_smbus) are bound to a host driver" },
	    { "0000:00:1f.3", "not-ready", "while 00:1f.0 (ISA bridge, lpc_ich) is bound" },
	    { "0000:00:1f.0", "host-infrastructure", "bridges" } } },
	{ "h100-firecracker-intel",
	  "PPWNNNNNNNNUUUWUWWPNNUUUN",
	  -1,
	  0,
	  0,
	  1,
	  "Firecracker (KVM)",
	  { { "kvm.dev", "no kvm.json" },
	    { "cpu.model", "GenuineIntel" },
	    { "kvm.module", "kvm_pvm" } },
	  { { "0000:00:06.0", "not-ready", "no active IOMMU" },
	    { "0000:00:01.0", "paravirtual", NULL } } },
};

static const char status_letter[] = { [PROBE_PASS] = 'P', [PROBE_NOTE] = 'N', [PROBE_WARN] = 'W',
				       [PROBE_FAIL] = 'F', [PROBE_UNKNOWN] = 'U' };

static void replay(const char *dir, struct probe_report *rep)
{
	struct probe_options o = { .replay_dir = dir };
	char err[512] = "";

	if (probe_run(&o, rep, err, sizeof(err)) < 0)
		fail_msg("probe_run(%s): %s", dir, err);
}

static const struct probe_pci_dev *find_dev(const struct probe_report *rep, const char *addr)
{
	for (int i = 0; i < rep->facts->pci.ndevs; i++)
		if (!strcmp(rep->facts->pci.devs[i].addr, addr))
			return &rep->facts->pci.devs[i];
	return NULL;
}

static void check_texts(const struct host_case *hc, const struct probe_report *rep)
{
	for (size_t i = 0; i < sizeof(hc->text) / sizeof(hc->text[0]) && hc->text[i].id; i++) {
		bool in_fix = !strncmp(hc->text[i].id, "fix:", 4);
		const struct probe_check *c =
			probe_report_find(rep, hc->text[i].id + (in_fix ? 4 : 0));
		assert_non_null(c);
		const char *hay = in_fix ? c->fix : c->evidence;
		if (!strstr(hay, hc->text[i].needle))
			fail_msg("%s %s: \"%s\" not in \"%s\"", hc->dir, hc->text[i].id,
				 hc->text[i].needle, hay);
	}
}

static void check_devs(const struct host_case *hc, const struct probe_report *rep)
{
	for (size_t i = 0; i < sizeof(hc->devs) / sizeof(hc->devs[0]) && hc->devs[i].addr; i++) {
		const struct probe_pci_dev *d = find_dev(rep, hc->devs[i].addr);
		if (!d)
			fail_msg("%s: no device %s", hc->dir, hc->devs[i].addr);
		assert_string_equal(d->verdict, hc->devs[i].verdict);
		if (hc->devs[i].reason && !strstr(d->reason, hc->devs[i].reason))
			fail_msg("%s %s: \"%s\" not in reason \"%s\"", hc->dir, d->addr,
				 hc->devs[i].reason, d->reason);
	}
}

static void test_hosts(void **state)
{
	(void)state;
	for (size_t h = 0; h < sizeof(cases) / sizeof(cases[0]); h++) {
		const struct host_case *hc = &cases[h];
		struct probe_report rep;
		char dir[512], got[NORDER + 1];

		test_data_path(dir, sizeof(dir), "hosts/");
		strncat(dir, hc->dir, sizeof(dir) - strlen(dir) - 1);
		replay(dir, &rep);
		assert_int_equal(rep.nchecks, NORDER);
		for (size_t i = 0; i < NORDER; i++) {
			assert_string_equal(rep.checks[i].id, check_order[i]);
			got[i] = status_letter[rep.checks[i].status];
			/* every non-PASS check says what it read, and every WARN/FAIL says how to
			 * fix it */
			assert_true(rep.checks[i].evidence[0] != '\0');
			if ((rep.checks[i].status == PROBE_FAIL ||
			     rep.checks[i].status == PROBE_WARN) &&
			    !rep.checks[i].fix[0])
				fail_msg("%s %s: %s without a fix", hc->dir, rep.checks[i].id,
					 probe_status_name(rep.checks[i].status));
		}
		got[NORDER] = '\0';
		if (strcmp(got, hc->statuses))
			fail_msg("%s: statuses %s, expected %s", hc->dir, got, hc->statuses);
		assert_int_equal(rep.summary.hw_vms, hc->hw_vms);
		assert_int_equal(rep.summary.nested, hc->nested);
		assert_int_equal(rep.summary.pt_ready, hc->pt_ready);
		assert_int_equal(rep.summary.pt_candidates, hc->pt_candidates);
		if (hc->hypervisor)
			assert_string_equal(rep.facts->hv.display, hc->hypervisor);
		else
			assert_string_equal(rep.facts->hv.display, "");
		check_texts(hc, &rep);
		check_devs(hc, &rep);
		probe_report_free(&rep);
	}
}

static void test_h100_gpu_recorded(void **state)
{
	struct probe_report rep;
	char dir[512];

	(void)state;
	test_data_path(dir, sizeof(dir), "hosts/h100-firecracker-intel");
	replay(dir, &rep);
	const struct probe_pci_dev *gpu = find_dev(&rep, "0000:00:06.0");
	assert_non_null(gpu);
	assert_int_equal(gpu->vendor, 0x10de);
	assert_int_equal(gpu->device, 0x2330);
	assert_int_equal(gpu->cls, 0x0302);
	assert_string_equal(gpu->driver, "nvidia");
	assert_non_null(strstr(gpu->device_name, "H100"));
	assert_non_null(strstr(gpu->alternative, "passthrough or vGPU"));
	probe_report_free(&rep);
}

/* ---- corrupt recordings: UNKNOWN with the reason, never a crash ---- */

static void corrupt_copy(char *dir, size_t len, const char *host, const char *damage)
{
	char src[512];

	test_mkdtemp(dir, len);
	test_data_path(src, sizeof(src), "hosts/");
	assert_int_equal(
		test_sh("cp -a '%s%s/.' '%s/' && cd '%s' && %s", src, host, dir, dir, damage), 0);
}

/* A software KVM: "VMs yes, hardware acceleration no", with the kernel-mode slowdown where the
 * recording has it. This recording predates the loop; a copy with two figures written in checks
 * the words (the figures are the test's, not any host's). */
static void test_software_kvm(void **state)
{
	struct probe_report rep;
	char dir[512];

	(void)state;
	test_data_path(dir, sizeof(dir), "hosts/firecracker-pvm-amd");
	replay(dir, &rep);
	assert_int_equal(rep.summary.hw_vms, 0);
	assert_int_equal(rep.summary.vms, 1);
	assert_non_null(strstr(rep.summary.hw_vms_how, "VMs run, on a software KVM (kvm_pvm)"));
	assert_null(strstr(rep.summary.hw_vms_how, "measured"));
	probe_report_free(&rep);

	corrupt_copy(dir, sizeof(dir), "firecracker-pvm-amd",
		     "sed -i 's/\"exit_rtt_us\":\\([0-9.]*\\)/\"exit_rtt_us\":\\1,"
		     "\"ring0_loop_us\":2600.0,\"native_loop_us\":1.3/' kvm.json && "
		     "grep -q ring0_loop_us kvm.json");
	replay(dir, &rep);
	assert_non_null(
		strstr(rep.summary.hw_vms_how, "emulated (1995 times slower, measured here)"));
	const struct probe_check *run = probe_report_find(&rep, "kvm.run");
	assert_non_null(run);
	assert_non_null(strstr(run->evidence, "kernel-mode code 1995 times slower than natively "
					      "(4000 loop iterations: 2593.5 us in the guest, 1.3 "
					      "us on this CPU), so emulated"));
	probe_report_free(&rep);
	test_sh("rm -rf '%s'", dir);
}

/* A user who may not open /dev/kvm (the recording of a host like this one, probed by such a user):
 * the fix comes from the node's own mode and group, never a "kvm" group the host may not have, and
 * the headline does not claim KVM cannot run guests. */
static void test_dev_kvm_denied(void **state)
{
	static const struct { const char *dev, *evidence, *fix;
	} denied[] = {
		{ "\"dev_mode\":432,\"dev_gid\":994,\"dev_group\":\"kvm\",\"user_in_group\":false",
		  "/dev/kvm is mode 0660, group kvm, and you are not in kvm",
		  "sudo usermod -aG kvm $USER, then log in again" },
		{ "\"dev_mode\":432,\"dev_gid\":108,\"dev_group\":\"hypervisor\",\"user_in_group\":"
		  "true",
		  "you are in hypervisor, but not in this login's groups", "newgrp hypervisor" },
		{ "\"dev_mode\":384,\"dev_gid\":0,\"dev_group\":\"root\",\"user_in_group\":false",
		  "/dev/kvm is mode 0600, group root: no group may open it, only root",
		  "udev rule: KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"" },
	};
	struct probe_report rep;
	char dir[512];

	(void)state;
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		char sed[600];
		snprintf(sed, sizeof(sed),
			 "sed -i 's/\"open_err\":0,/\"open_err\":-13,%s,/; "
			 "s/\"err\":0,/\"err\":-19,/' kvm.json && grep -q dev_mode kvm.json",
			 denied[i].dev);
		corrupt_copy(dir, sizeof(dir), "firecracker-pvm-amd", sed);
		replay(dir, &rep);
		const struct probe_check *c = probe_report_find(&rep, "kvm.dev");
		assert_non_null(c);
		assert_int_equal(c->status, PROBE_FAIL);
		if (!strstr(c->evidence, denied[i].evidence) || !strstr(c->fix, denied[i].fix))
			fail_msg("case %zu: %s / fix: %s", i, c->evidence, c->fix);
		assert_null(strstr(c->fix, "usermod -aG kvm USER")); /* the old blind advice */
		assert_non_null(strstr(rep.summary.hw_vms_how, "you may not open /dev/kvm"));
		probe_report_free(&rep);
		test_sh("rm -rf '%s'", dir);
	}
}

/* An AMD IOMMU's own PCI function (class 0806, on every AMD host with AMD-Vi) is host
 * infrastructure, not a passthrough candidate "in no IOMMU group"; a conventional PCI device has no
 * extended configuration space, so no ACS, which is not "unreadable". */
static void test_iommu_function_and_conventional_pci(void **state)
{
	struct probe_report rep;
	char dir[512];

	(void)state;
	corrupt_copy(dir, sizeof(dir), "qemu-tcg-kvm-amd",
		     "d=sys/bus/pci/devices/0000:00:01.1 && echo 0x080600 > $d/class && "
		     "printf '\\000\\006\\010' | dd of=$d/config bs=1 seek=9 conv=notrunc "
		     "2>/dev/null");
	replay(dir, &rep);
	const struct probe_pci_dev *d = find_dev(&rep, "0000:00:01.1");
	assert_non_null(d);
	assert_int_equal(d->cls, 0x0806);
	assert_string_equal(d->verdict, "host-infrastructure");
	assert_non_null(strstr(d->reason, "the IOMMU itself stays with the host"));
	assert_int_equal(rep.summary.pt_candidates, 0);
	assert_string_equal(probe_pci_acs_name(d),
			    "none (conventional PCI: no extended configuration space)");
	probe_report_free(&rep);
	test_sh("rm -rf '%s'", dir);
}

/* A group's viability is decided by its peers' drivers, as VFIO decides it: none, vfio-pci and
 * its variants, pci-stub and pcieport leave it viable; any other host driver (a bridge's too, such
 * as lpc_ich) does not. The GPU's group 14 holds a USB, a SATA and an audio function bound to host
 * drivers, and a PCIe port. */
static void test_group_viability(void **state)
{
	static const struct {
		const char *damage, *verdict, *vfio, *reason;
	} groups[] = {
		{ "true", "not-ready", "not-viable",
		  "02:00.0 (USB controller, xhci_hcd), 02:00.1" },
		{ "rm $d/0000:02:00.0/driver $d/0000:02:00.1/driver && echo "
		  "../../../bus/pci/drivers/vfio-pci > $d/0000:0b:00.1/driver",
		  "ready", "viable",
		  "IOMMU group 14 (with 02:00.0, 02:00.1, 02:00.2, 0b:00.1, none bound to a host "
		  "driver that claims DMA); reset: flr bus; the host's nvidia has it" },
		{ "rm $d/0000:02:00.0/driver && echo ../../../bus/pci/drivers/pci-stub > "
		  "$d/0000:02:00.1/driver && echo ../../../bus/pci/drivers/mlx5_vfio_pci > "
		  "$d/0000:0b:00.1/driver",
		  "ready", "viable", "IOMMU group 14 (with 02:00.0," },
		/* a bridge bound to a host driver keeps the group from being viable too */
		{ "rm $d/0000:02:00.0/driver $d/0000:02:00.1/driver $d/0000:0b:00.1/driver && echo "
		  "../../../bus/pci/drivers/shpchp > $d/0000:02:00.2/driver",
		  "not-ready", "not-viable",
		  "group 14 is not viable while 02:00.2 (PCI bridge, shpchp) is bound to a host "
		  "driver: unbind it from the host first (or give it to vfio-pci too)" },
	};
	char damage[512], dir[512];
	struct probe_report rep;

	(void)state;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		snprintf(damage, sizeof(damage), "d=sys/bus/pci/devices && %s", groups[i].damage);
		corrupt_copy(dir, sizeof(dir), "gpu-group-shared-usb", damage);
		replay(dir, &rep);
		const struct probe_pci_dev *d = find_dev(&rep, "0000:0b:00.0");
		assert_non_null(d);
		if (strcmp(d->verdict, groups[i].verdict) || strcmp(d->vfio, groups[i].vfio) ||
		    !strstr(d->reason, groups[i].reason))
			fail_msg("after `%s`: %s, vfio %s (%s); expected %s, %s, \"%s\"",
				 groups[i].damage, d->verdict, d->vfio, d->reason,
				 groups[i].verdict, groups[i].vfio, groups[i].reason);
		assert_null(find_dev(&rep, "0000:02:00.2")->vfio);	/* a bridge: no answer */
		assert_string_equal(find_dev(&rep, "0000:0c:00.0")->vfio, "viable");
		probe_report_free(&rep);
		test_sh("rm -rf '%s'", dir);
	}
}

static const struct probe_check *replay_find(struct probe_report *rep, const char *dir,
					     const char *id)
{
	replay(dir, rep);
	return probe_report_find(rep, id);
}

static void expect(const char *host, const char *damage, const char *id, enum probe_status st,
		   const char *needle)
{
	struct probe_report rep;
	char dir[256];

	corrupt_copy(dir, sizeof(dir), host, damage);
	const struct probe_check *c = replay_find(&rep, dir, id);
	assert_non_null(c);
	if (c->status != st || (needle && !strstr(c->evidence, needle)))
		fail_msg("after `%s`: %s is %s (%s), expected %s with \"%s\"", damage, id,
			 probe_status_name(c->status), c->evidence, probe_status_name(st),
			 needle ? needle : "");
	probe_report_free(&rep);
	test_sh("rm -rf '%s'", dir);
}

/* Interrupt remapping from /proc/interrupts (the chips' "IR-" names), which never rotates out as
 * the kernel log does; the log decides only where /proc/interrupts cannot tell. */
static void test_intremap_from_interrupts(void **state)
{
	const char *h = "gpu-group-shared-usb";

	(void)state;
	expect(h,
	       "printf '%s\\n' '           CPU0' '  0:  44  IR-IO-APIC    2-edge      timer' ' 40: "
	       " 0  IR-PCI-MSI 524288-edge      nvme0q0' ' 24:  0  PCI-MSI 16384-edge  AMD-Vi' > "
	       "proc/interrupts",
	       "iommu.intremap", PROBE_PASS,
	       "/proc/interrupts: 2 interrupts go through the IOMMU's remapping table");
	/* the AMD IOMMU's own interrupt (PCI-MSI, never remapped) is not a device left out... */
	struct probe_report rep;
	char dir[256];
	corrupt_copy(dir, sizeof(dir), h, "printf '%s\\n' '  0:  44  IR-IO-APIC    2-edge   timer' "
		     "' 24:  0  PCI-MSI 16384-edge  AMD-Vi' > proc/interrupts");
	const struct probe_check *c = replay_find(&rep, dir, "iommu.intremap");
	assert_non_null(c);
	assert_string_equal(c->evidence, "/proc/interrupts: 1 interrupt goes through the IOMMU's "
			    "remapping table (IR-IO-APIC, IR-PCI-MSI)");
	probe_report_free(&rep);
	test_sh("rm -rf '%s'", dir);
	/* ...but a device's interrupt that is not remapped is said */
	expect(h, "printf '%s\\n' '  0:  44  IR-IO-APIC    2-edge      timer' "
	       "' 24:  0  PCI-MSI 16384-edge  AMD-Vi' ' 40:  0  PCI-MSI 5-edge  nvme0q0' "
	       "> proc/interrupts", "iommu.intremap", PROBE_PASS, "; some are not");
	expect(h, "printf '%s\\n' '           CPU0' '  0:  44  IO-APIC    2-edge      timer' "
	       "' 40:  0  PCI-MSIX-0000:01:00.0 0-edge  nvme0q0' > proc/interrupts",
	       "iommu.intremap", PROBE_WARN,
	       "/proc/interrupts: none of 2 IO-APIC and MSI interrupts is remapped");
	/* nothing to judge by there: the kernel log's line decides, as before */
	expect(h, "printf '%s\\n' '           CPU0' '  1:  9  XT-PIC  kbd' > proc/interrupts",
	       "iommu.intremap", PROBE_PASS, "kernel log");
}

enum dev_expect { DEV_SAME, DEV_ACS_UNREADABLE, DEV_NO_GROUP };

static const struct probe_pci_dev *dev_at(const struct probe_report *rep, const char *addr)
{
	const struct probe_pci_dev *devs;
	int n = probe_report_devices(rep, &devs, NULL);

	for (int i = 0; i < n; i++)
		if (!strcmp(devs[i].addr, addr))
			return &devs[i];
	return NULL;
}

/* One device of a damaged copy, against the same device of the intact recording. */
static void expect_dev(const char *host, const char *damage, const char *addr, enum dev_expect want)
{
	struct probe_report rep, orig;
	char dir[256], src[512];

	test_data_path(src, sizeof(src), "hosts/");
	strncat(src, host, sizeof(src) - strlen(src) - 1);
	replay(src, &orig);
	corrupt_copy(dir, sizeof(dir), host, damage);
	replay(dir, &rep);
	const struct probe_pci_dev *d = dev_at(&rep, addr), *o = dev_at(&orig, addr);
	assert_non_null(o);
	if (!d)
		fail_msg("after `%s`: %s is no longer listed", damage, addr);
	assert_int_equal(d->vendor, o->vendor);
	assert_int_equal(d->device, o->device);
	switch (want) {
	case DEV_SAME:
		assert_string_equal(d->verdict, o->verdict);
		assert_int_equal(d->group, o->group);
		assert_int_equal(d->acs, o->acs);
		break;
	case DEV_ACS_UNREADABLE:
		assert_int_not_equal(o->acs, -1);	/* the intact one could read it */
		assert_int_equal(d->acs, -1);
		assert_string_equal(probe_pci_acs_name(d), "unreadable");
		break;
	case DEV_NO_GROUP:
		assert_int_not_equal(o->group, -1);
		assert_int_equal(d->group, -1);
		assert_string_not_equal(d->verdict, "ready");
		assert_non_null(strstr(d->reason, "no IOMMU group"));
		break;
	}
	probe_report_free(&rep);
	probe_report_free(&orig);
	test_sh("rm -rf '%s'", dir);
}

static void test_corrupt_recordings(void **state)
{
	(void)state;
	expect("intel-vtx-nested", "echo 'not a dump' > cpuid.raw", "probe.input", PROBE_UNKNOWN,
	       "cpuid.raw");
	expect("intel-vtx-nested", "echo 'not a dump' > cpuid.raw", "cpu.model", PROBE_UNKNOWN,
	       "did not load");
	expect("intel-vtx-nested", "head -c 300 cpuid.raw > x && mv x cpuid.raw", "probe.input",
	       PROBE_UNKNOWN,
	       "cpuid.raw: not a CPUID dump (a libcpuid raw dump with a line cut short: "
	       "truncated?)");
	expect("intel-vtx-nested", "printf '0x3a=zz\\n' > msr.txt", "probe.input", PROBE_UNKNOWN,
	       "msr.txt: corrupt");
	expect("intel-vtx-nested", "printf '0x3a=zz\\n' > msr.txt", "cpu.firmware", PROBE_PASS,
	       "unreadable");
	expect("intel-vtx-nested", "head -c 100 kvm.json > x && mv x kvm.json", "kvm.dev",
	       PROBE_UNKNOWN, "corrupt");
	expect("intel-vtx-nested", "echo '{\"open_err\": \"x\"}' > kvm.json", "kvm.run",
	       PROBE_UNKNOWN, "wrong type");
	expect("intel-vtx-nested",
	       "head -c 20 sys/firmware/acpi/tables/DMAR > x && mv x sys/firmware/acpi/tables/DMAR",
	       "iommu.acpi", PROBE_UNKNOWN, "truncated or corrupt");
	/* CPUID still answers for VT-x; the garbage is named, not read as "no vmx flag" */
	expect("intel-vtx-nested", "head -c 5000 /dev/urandom > proc/cpuinfo", "cpu.hwvirt",
	       PROBE_PASS, "Intel VT-x (CPUID.1:ECX[5] = 1)");
	expect("intel-vtx-nested", "head -c 5000 /dev/urandom > proc/cpuinfo", "probe.input",
	       PROBE_UNKNOWN, "/proc/cpuinfo: no \"flags\" line");
	expect("intel-vtx-nested", "rm sys/bus/pci/devices/0000:31:00.0/vendor", "pci.devices",
	       PROBE_UNKNOWN, "could not be listed");
	/* libpci reads resource (BARs) but no verdict uses it: the device is judged as before */
	expect_dev("intel-vtx-nested", "rm sys/bus/pci/devices/0000:31:00.0/resource",
		   "0000:31:00.0", DEV_SAME);
	/* 10 bytes of config space: no capability can be read, so ACS is unreadable, not "no" */
	expect_dev("intel-vtx-nested",
		   "head -c 10 sys/bus/pci/devices/0000:31:00.0/config > x && mv x "
		   "sys/bus/pci/devices/0000:31:00.0/config",
		   "0000:31:00.0", DEV_ACS_UNREADABLE);
	/* an IOMMU group that is not a number: no group, so not ready for passthrough */
	expect_dev("gpu-group-shared-usb",
		   "ln -sfn ../../../kernel/iommu_groups/zz "
		   "sys/bus/pci/devices/0000:0b:00.0/iommu_group",
		   "0000:0b:00.0", DEV_NO_GROUP);
	/* a nested parameter that is neither yes nor no says nothing: unknown, never "yes" */
	expect("amd-svm-avic", "printf '\\xff\\xfe' > sys/module/kvm_amd/parameters/nested",
	       "nested.support", PROBE_UNKNOWN, "which is neither 0/1 nor Y/N");
	expect("amd-svm-avic", "rm -rf sys proc cpuid.raw kvm.json msr.txt", "cpu.model",
	       PROBE_UNKNOWN, "CPUID not available: not in the recording");
}

/* A recording is someone else's data: no link in it is followed (its target could be /etc/shadow),
 * no FIFO or endless file hangs the replay, and nothing outside it reaches the output or a --save
 * copy (issue 12, 2 and 9). */
static void test_hostile_recordings(void **state)
{
	struct probe_options o = { 0 };
	struct probe_report rep;
	char dir[256], save[300], secret[300], err[512] = "";

	(void)state;
	corrupt_copy(dir, sizeof(dir), "intel-vtx-nested", "true");
	snprintf(secret, sizeof(secret), "%s.secret", dir);
	test_sh("echo 'TOPSECRET root:$6$hash' > '%s'", secret);
	assert_int_equal(test_sh("cd '%s' && ln -sf '%s' proc/cmdline && ln -sf /dev/zero "
				 "cpuid.raw && rm kmsg.txt && mkfifo kmsg.txt && mv sys/module "
				 "sys/module.real && ln -s \"$PWD/sys/module.real\" sys/module",
				 dir, secret),
			 0);
	snprintf(save, sizeof(save), "%s.saved", dir);
	o.replay_dir = dir;
	o.save_dir = save;
	assert_int_equal(probe_run(&o, &rep, err, sizeof(err)),
			 0); /* returns: no FIFO or /dev/zero hangs it */
	char *doc = probe_output_json(&rep);
	assert_null(strstr(doc, "TOPSECRET"));
	assert_non_null(strstr(rep.facts->problems, "cpuid.raw"));
	assert_int_equal(probe_report_find(&rep, "cpu.model")->status, PROBE_UNKNOWN);
	/* sys/module is a link: the KVM module's parameters are not read through it */
	assert_null(strstr(doc, "nested=Y"));
	free(doc);
	probe_report_free(&rep);
	assert_int_equal(test_sh("! grep -rq TOPSECRET '%s'", save), 0);
	assert_int_equal(test_sh("test \"$(stat -c %%a '%s')\" = 700", save),
			 0); /* kernel log lines inside */
	test_sh("rm -rf '%s' '%s' '%s'", dir, save, secret);
}

static int acs_of(struct probe_report *rep, const char *addr)
{
	for (int i = 0; i < rep->facts->pci.ndevs; i++)
		if (!strcmp(rep->facts->pci.devs[i].addr, addr))
			return rep->facts->pci.devs[i].acs;
	fail_msg("%s is not listed", addr);
	return -2;
}

/* A device's config space in a recording is read only as a file of the recording: the same bytes
 * with an ACS capability give ACS as a file, and are not read through a link to them. */
static void test_pci_config_link(void **state)
{
	static const char craft[] =
		"cp sys/bus/pci/devices/0000:00:14.0/config \"$PWD.acs\" && "
		"printf '\\015\\000\\001\\000' | dd of=\"$PWD.acs\" bs=1 seek=256 conv=notrunc "
		"2>/dev/null";
	struct probe_report rep;
	char dir[256], cmd[1024];

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s && cp \"$PWD.acs\" sys/bus/pci/devices/0000:00:14.0/config",
		 craft);
	corrupt_copy(dir, sizeof(dir), "intel-vtx-nested", cmd);
	replay(dir, &rep);
	assert_int_equal(acs_of(&rep, "0000:00:14.0"), 1);	/* the crafted bytes say ACS */
	probe_report_free(&rep);
	test_sh("rm -rf '%s' '%s.acs'", dir, dir);

	snprintf(cmd, sizeof(cmd),
		 "%s && ln -sf \"$PWD.acs\" sys/bus/pci/devices/0000:00:14.0/config",
		 craft);
	corrupt_copy(dir, sizeof(dir), "intel-vtx-nested", cmd);
	replay(dir, &rep);
	assert_int_equal(rep.facts->pci.ndevs, 6);
	assert_int_equal(acs_of(&rep, "0000:00:14.0"), -1);	/* not read: unknown */
	assert_int_equal(acs_of(&rep, "0000:00:14.2"), 0);	/* its neighbour as recorded */
	probe_report_free(&rep);
	test_sh("rm -rf '%s' '%s.acs'", dir, dir);
}

/* --save only into a directory it made or an empty one of ours; anything else is refused before the
 * run, and nothing is said to be recorded that was not (issue 12, 1 and 15). */
static void test_save_refuses(void **state)
{
	struct probe_options o = { .skip_functional = true };
	struct probe_report rep;
	char dir[256], path[300], host[512], err[512];

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	test_data_path(host, sizeof(host), "hosts/amd-svm-avic");
	o.replay_dir = host;
	static const struct { const char *setup, *name, *needle; } bad[] = {
		{ "mkdir full && touch full/x", "full", "not empty" },
		{ "mkfifo fifo", "fifo", "not a directory" },
		{ "touch file", "file", "not a directory" },
		{ "mkdir real && ln -s real link", "link", "symbolic link" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_sh("cd '%s' && %s", dir, bad[i].setup), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, bad[i].name);
		o.save_dir = path;
		err[0] = '\0';
		assert_true(probe_run(&o, &rep, err, sizeof(err)) < 0);
		if (!strstr(err, bad[i].needle) || !strstr(err, path))
			fail_msg("--save %s: \"%s\", expected \"%s\"", bad[i].name, err,
				 bad[i].needle);
	}
	assert_int_equal(test_sh("test ! -e '%s/real/RECORDING'", dir),
			 0); /* nothing written through the link */
	snprintf(path, sizeof(path), "%s/new", dir);
	o.save_dir = path;
	assert_int_equal(probe_run(&o, &rep, err, sizeof(err)), 0);
	assert_string_equal(rep.save_error, "");
	probe_report_free(&rep);
	assert_int_equal(
		test_sh("test -s '%s/new/RECORDING' && test -s '%s/new/kvm.json'", dir, dir), 0);
	test_sh("rm -rf '%s'", dir);
}

static void test_missing_recording(void **state)
{
	struct probe_options o = { .replay_dir = "/nonexistent/recording" };
	struct probe_report rep;
	char err[512] = "";

	(void)state;
	assert_int_equal(probe_run(&o, &rep, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/recording"));
	assert_non_null(strstr(err, "--save"));
}

static void test_json_schema(void **state)
{
	struct probe_report rep;
	char dir[512];

	(void)state;
	test_data_path(dir, sizeof(dir), "hosts/gpu-group-shared-usb");
	replay(dir, &rep);
	char *doc = probe_output_json(&rep);
	assert_non_null(doc);
	assert_non_null(strstr(doc, "\"schema\":\"nestvisor-probe\""));
	assert_non_null(strstr(doc, "\"schema_version\":1"));
	assert_non_null(strstr(doc, "\"verdict\":\"not-ready\""));
	assert_non_null(strstr(doc, "\"iommu_group\":14"));
	free(doc);
	probe_report_free(&rep);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_hosts),
	cmocka_unit_test(test_software_kvm),
	cmocka_unit_test(test_dev_kvm_denied),
	cmocka_unit_test(test_iommu_function_and_conventional_pci),
	cmocka_unit_test(test_group_viability),
	cmocka_unit_test(test_intremap_from_interrupts),
	cmocka_unit_test(test_h100_gpu_recorded),
	cmocka_unit_test(test_corrupt_recordings),
	cmocka_unit_test(test_hostile_recordings),
	cmocka_unit_test(test_pci_config_link),
	cmocka_unit_test(test_save_refuses),
	cmocka_unit_test(test_missing_recording),
	cmocka_unit_test(test_json_schema),
};
TEST_MAIN(tests)
