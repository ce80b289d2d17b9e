#!/usr/bin/env python3
"""Builds the constructed host recordings in tests/data/hosts/ from documented values.

Each host below is data: CPUID leaves (Intel SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E),
MSR values (Intel SDM vol. 3 appendix A for the VMX capability MSRs, 24.6 for
IA32_FEATURE_CONTROL; AMD APM vol. 2 15.30.1 for VM_CR), ACPI tables (ACPI 6.5 5.2.6 header,
Intel VT-d 3.4 8.1 DMAR, AMD IOMMU 48882 5.2 IVRS), PCI IDs from pci.ids and config space per
PCI Express Base 5.0 7.5.3 (FLR in Device Capabilities bit 28) and 7.7.8 (ACS). The recordings
use exactly the layout `nestvisor probe --save` writes, so they replay through the same code.
Run it from anywhere; it rewrites only the hosts it defines.
"""
import json, os, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))

def w(root, path, data, mode="w"):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, mode) as f:
        f.write(data)

def link(root, path, target):
    """A symlink as `--save` records it: a file holding the target (tarballs drop dangling links)."""
    w(root, path, target + "\n")

def regs_of(s):
    return struct.unpack("<III", s.encode().ljust(12, b"\0")[:12])

def brand_leaves(brand):
    b = brand.encode().ljust(48, b"\0")
    return [struct.unpack("<IIII", b[i:i + 16]) for i in (0, 16, 32)]

def cpuid_raw(vendor, basic, ext):
    """libcpuid 0.6.2 raw format: basic_cpuid[i] and ext_cpuid[i] lines of four hex words."""
    ebx, edx, ecx = regs_of(vendor)
    leaves = {0: (max(basic), ebx, ecx, edx)}
    leaves.update(basic)
    out = ["version=0.6.2"]
    for i in range(32):
        out.append("basic_cpuid[%d]=%08x %08x %08x %08x" % ((i,) + tuple(leaves.get(i, (0, 0, 0, 0)))))
    e = {0: (0x80000000 + max(ext), ebx, ecx, edx)}
    e.update(ext)
    for i in range(32):
        out.append("ext_cpuid[%d]=%08x %08x %08x %08x" % ((i,) + tuple(e.get(i, (0, 0, 0, 0)))))
    return "\n".join(out) + "\n"

def acpi_table(sig, oem, oem_table, body=b""):
    length = 36 + len(body)
    hdr = struct.pack("<4sIBB6s8sI4sI", sig.encode(), length, 1, 0, oem.encode().ljust(6),
                      oem_table.encode().ljust(8), 1, b"NVFX", 1)
    data = bytearray(hdr + body)
    data[9] = (-sum(data)) & 0xff
    return bytes(data)

def config_space(vendor, device, cls, rev, sub, flr, acs, multifn=False, size=4096):
    c = bytearray(size)
    struct.pack_into("<HHHH", c, 0, vendor, device, 0x0006, 0x0010)  # status: capabilities list
    c[8] = rev
    c[0x09], c[0x0a], c[0x0b] = 0, cls & 0xff, cls >> 8
    c[0x0e] = 0x80 if multifn else 0
    struct.pack_into("<HH", c, 0x2c, sub[0], sub[1])
    c[0x34] = 0x40
    struct.pack_into("<BBH", c, 0x40, 0x10, 0x00, 0x0002)  # PCIe capability, v2, endpoint
    struct.pack_into("<I", c, 0x44, (1 << 28) if flr else 0)  # Device Capabilities: FLR
    if acs and size >= 4096:
        struct.pack_into("<I", c, 0x100, 0x0d | (1 << 16))  # ACS extended capability, v1, last
    return bytes(c)

def pci_device(root, dev):
    base = "/sys/bus/pci/devices/" + dev["addr"]
    sub = dev.get("sub", (dev["vendor"], dev["device"]))
    w(root, base + "/vendor", "0x%04x\n" % dev["vendor"])
    w(root, base + "/device", "0x%04x\n" % dev["device"])
    w(root, base + "/class", "0x%06x\n" % (dev["class"] << 8))
    w(root, base + "/subsystem_vendor", "0x%04x\n" % sub[0])
    w(root, base + "/subsystem_device", "0x%04x\n" % sub[1])
    w(root, base + "/revision", "0x%02x\n" % dev.get("rev", 0))
    w(root, base + "/irq", "0\n")
    w(root, base + "/numa_node", "-1\n")
    w(root, base + "/resource", "0x0000000000000000 0x0000000000000000 0x0000000000000000\n" * 13)
    w(root, base + "/config", config_space(dev["vendor"], dev["device"], dev["class"], dev.get("rev", 0), sub,
                                           dev.get("flr", False), dev.get("acs", False),
                                           dev.get("multifn", False)), "wb")
    if "reset" in dev:
        w(root, base + "/reset_method", dev["reset"] + "\n")
    if "vfs" in dev:
        w(root, base + "/sriov_totalvfs", "%d\n" % dev["vfs"])
    if dev.get("driver"):
        link(root, base + "/driver", "../../../bus/pci/drivers/" + dev["driver"])
    if "group" in dev:
        link(root, base + "/iommu_group", "../../../kernel/iommu_groups/%d" % dev["group"])

def iommu_groups(root, devices, gtype):
    groups = {}
    for d in devices:
        if "group" in d:
            groups.setdefault(d["group"], []).append(d["addr"])
    os.makedirs(os.path.join(root, "sys/kernel/iommu_groups"), exist_ok=True)
    for g, addrs in groups.items():
        w(root, "/sys/kernel/iommu_groups/%d/type" % g, gtype + "\n")
        os.makedirs(os.path.join(root, "sys/kernel/iommu_groups/%d/devices" % g), exist_ok=True)
        for a in addrs:
            link(root, "/sys/kernel/iommu_groups/%d/devices/%s" % (g, a), "../../../../devices/pci0000:00/" + a)

def cpuinfo(model_name, flags, vmx_flags=None, family=6, model=0, stepping=0, cpus=2, vendor="GenuineIntel"):
    out = []
    for n in range(cpus):
        out += ["processor\t: %d" % n, "vendor_id\t: %s" % vendor, "cpu family\t: %d" % family,
                "model\t\t: %d" % model, "model name\t: %s" % model_name, "stepping\t: %d" % stepping,
                "flags\t\t: %s" % flags]
        if vmx_flags:
            out.append("vmx flags\t: %s" % vmx_flags)
        out.append("")
    return "\n".join(out) + "\n"

CAPS_FULL = {"KVM_CAP_USER_MEMORY": 1, "KVM_CAP_IRQCHIP": 1, "KVM_CAP_PIT2": 1, "KVM_CAP_SET_TSS_ADDR": 1,
             "KVM_CAP_EXT_CPUID": 1, "KVM_CAP_IOEVENTFD": 1, "KVM_CAP_IRQFD": 1, "KVM_CAP_IMMEDIATE_EXIT": 1,
             "KVM_CAP_NR_VCPUS": 64, "KVM_CAP_MAX_VCPUS": 1024, "KVM_CAP_NR_MEMSLOTS": 32764,
             "KVM_CAP_GET_MSR_FEATURES": 1, "KVM_CAP_X2APIC_API": 3, "KVM_CAP_HYPERV": 1,
             "KVM_CAP_TSC_DEADLINE_TIMER": 1}

def kvm_json(nested_state=0, vmx=False, svm=False, svm_edx=0, feature_msrs=None, open_err=0):
    msrs = {"0x%x" % m: -2 for m in range(0x480, 0x493)}
    msrs.update(feature_msrs or {})
    if open_err:
        return {"open_err": open_err, "api_version": 0, "caps": {}, "cpuid_err": 0, "cpuid_vmx": False,
                "cpuid_svm": False, "cpuid_svm_edx": 0, "feature_msr_count": 0, "feature_msrs": msrs,
                "run": {"err": -19, "detail": "not run: /dev/kvm could not be opened", "exits": 0,
                        "total_us": 0, "exit_rtt_us": 0}}
    caps = dict(CAPS_FULL, KVM_CAP_NESTED_STATE=nested_state)
    return {"open_err": 0, "api_version": 12, "caps": caps, "cpuid_err": 0, "cpuid_vmx": vmx, "cpuid_svm": svm,
            "cpuid_svm_edx": svm_edx, "feature_msr_count": 40 if vmx else 4, "feature_msrs": msrs,
            # Timings are illustrative (bare-metal order of magnitude), not measurements.
            "run": {"err": 0, "detail": "a real-mode guest made 200 port writes and ended through port 0xf4",
                    "exits": 201, "total_us": 450.0, "exit_rtt_us": 1.2}}

def write_host(name, h):
    root = os.path.join(HERE, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    w(root, "/RECORDING", "recorded-by=tests/data/hosts/make-fixtures.py (constructed from documented values)\n"
      "source=constructed\n")
    w(root, "/cpuid.raw", cpuid_raw(h["vendor"], h["basic"], h["ext"]))
    w(root, "/cpuid-hypervisor.txt", "".join("0x%08x=%08x %08x %08x %08x\n" % ((l,) + r)
                                             for l, r in h.get("hv_leaves", {}).items()))
    w(root, "/msr.txt", "".join("0x%08x=%s\n" % (m, v if isinstance(v, str) else "%016x" % v)
                                for m, v in h.get("msrs", {}).items()))
    w(root, "/proc/cpuinfo", h["cpuinfo"])
    w(root, "/proc/cmdline", h["cmdline"] + "\n")
    w(root, "/proc/sys/kernel/osrelease", h.get("kernel", "6.1.0-18-amd64") + "\n")
    w(root, "/kmsg.txt", "\n".join(h.get("kmsg", [])) + "\n")
    if h.get("kvm") is not None:
        w(root, "/kvm.json", json.dumps(h["kvm"], indent=2) + "\n")
    os.makedirs(os.path.join(root, "sys/module"), exist_ok=True)
    for mod, params in h.get("modules", {}).items():
        os.makedirs(os.path.join(root, "sys/module", mod), exist_ok=True)
        for k, v in params.items():
            w(root, "/sys/module/%s/parameters/%s" % (mod, k), v + "\n")
    for sig, (oem, tid, body) in h["acpi"].items():
        w(root, "/sys/firmware/acpi/tables/" + sig, acpi_table(sig, oem, tid, body), "wb")
    for k, v in h.get("dmi", {}).items():
        w(root, "/sys/class/dmi/id/" + k, v + "\n")
    os.makedirs(os.path.join(root, "sys/class/iommu"), exist_ok=True)
    for u in h.get("iommu_units", []):
        link(root, "/sys/class/iommu/" + u, "../../devices/virtual/iommu/" + u)
    if h.get("iommu_units"):
        iommu_groups(root, h["pci"], h.get("group_type", "DMA-FQ"))
    os.makedirs(os.path.join(root, "sys/bus/pci/devices"), exist_ok=True)
    for d in h["pci"]:
        pci_device(root, d)
    # beside KVM (the env.* checks): the devices that exist (as --save records them: empty files), and
    # the cgroup controllers, v1 in /proc/cgroups or v2 at the top of /sys/fs/cgroup
    if "dev" in h:
        os.makedirs(os.path.join(root, "dev"), exist_ok=True)
        for d in h["dev"]:
            w(root, "/dev/" + d, "")
    if "cgroups_v1" in h:
        w(root, "/proc/cgroups", "#subsys_name\thierarchy\tnum_cgroups\tenabled\n" +
          "".join("%s\t%d\t1\t1\n" % (c, i + 1) for i, c in enumerate(h["cgroups_v1"])))
    if "cgroups_v2" in h:
        w(root, "/sys/fs/cgroup/cgroup.controllers", h["cgroups_v2"] + "\n")

# ---------------------------------------------------------------- the hosts
# VMX capability MSRs of an Ice Lake-SP server (allowed-1 halves carry the features).
ICX_VMX = {0x480: 0x00da040000000004, 0x481: 0x000000ff00000016, 0x482: 0xfff9fffe0401e172,
           0x483: 0x01ffffff00036dff, 0x484: 0x0003ffff000011ff, 0x485: 0x0000000020000000 | 0x7004c1e7,
           0x486: 0x0000000080000021, 0x487: 0x00000000ffffffff, 0x488: 0x0000000000002000,
           0x489: 0x0000000000772fff, 0x48a: 0x000000000000002e, 0x48b: 0x0017ffff00000000,
           0x48c: 0x00000f0106734141, 0x48d: 0x000000ff00000016, 0x48e: 0xfff9fffe04006172,
           0x48f: 0x01ffffff00036dfb, 0x490: 0x0003ffff000011fb, 0x491: 0x0000000000000001,
           0x492: "error:Input/output error"}
ICX_VMX_FLAGS = ("vnmi preemption_timer posted_intr invvpid ept_x_only ept_ad ept_1gb flexpriority apicv "
                 "tsc_offset vtpr mtf vapic ept vpid unrestricted_guest vapic_reg vid ple shadow_vmcs pml "
                 "ept_mode_based_exec tsc_scaling")
INTEL_FLAGS = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr "
               "sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts "
               "rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl %s "
               "smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt "
               "tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb "
               "%s avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb intel_pt avx512cd sha_ni")
AMD_SVM_EDX = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | \
              (1 << 10) | (1 << 12) | (1 << 13) | (1 << 15) | (1 << 16)  # Zen 3: NP..AVIC, VMSAVE virt, VGIF
AMD_FLAGS = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 "
             "ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid "
             "extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe "
             "popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse "
             "3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx "
             "cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 erms "
             "invpcid cqm rdt_a rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves "
             "cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local clzero irperf xsaveerptr rdpru wbnoinvd amd_ppin "
             "brs arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter "
             "pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip pku ospke vaes vpclmulqdq rdpid "
             "overflow_recov succor smca")
DMAR_BODY = bytes([45, 0x05]) + bytes(10)  # host address width 46 bits; INTR_REMAP | DMA_CTRL_PLATFORM_OPT_IN
IVRS_BODY = struct.pack("<I", 0x00203041) + bytes(8)  # IVinfo: EFRSup, 48-bit VA, 64-bit PA
KVM_INTEL_PARAMS = {"nested": "Y", "ept": "Y", "vpid": "Y", "unrestricted_guest": "Y", "enable_apicv": "Y",
                    "enable_shadow_vmcs": "Y", "flexpriority": "Y", "pml": "Y"}

HOSTS = {
    "intel-vtx-nested": dict(
        vendor="GenuineIntel",
        basic={1: (0x000606a6, 0x00200800, 0x7ffefbff & ~(1 << 31), 0xbfebfbff), 7: (0, 0xf3bfbfff, 0x40405f4e, 0xbc040412)},
        ext={1: (0, 0, 0x00000121, 0x2c100800), **dict(zip((2, 3, 4), brand_leaves("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"))),
             8: (0x0000302e, 0, 0, 0)},
        msrs={0x3a: 0x5, **ICX_VMX},
        dev=["kvm", "net/tun"],	# no vhost-net: its module not loaded
        cgroups_v2="cpuset cpu io memory hugetlb pids rdma misc",
        cpuinfo=cpuinfo("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", INTEL_FLAGS % ("vmx", "tpr_shadow flexpriority ept vpid ept_ad"),
                        ICX_VMX_FLAGS, 6, 106, 6),
        cmdline="BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/mapper/vg-root ro intel_iommu=on quiet",
        kmsg=["DMAR: IOMMU enabled", "DMAR: Host address width 46", "DMAR-IR: Enabled IRQ remapping in x2apic mode",
              "iommu: Default domain type: Translated"],
        modules={"kvm": {"halt_poll_ns": "200000", "tdp_mmu": "Y"}, "kvm_intel": KVM_INTEL_PARAMS},
        kvm=kvm_json(nested_state=8320, vmx=True,
                     feature_msrs={"0x%x" % m: "0x%016x" % v for m, v in ICX_VMX.items() if isinstance(v, int)}),
        acpi={"FACP": ("INTEL", "S2600WF", b""), "APIC": ("INTEL", "S2600WF", b""), "DMAR": ("INTEL", "S2600WF", DMAR_BODY)},
        dmi={"sys_vendor": "Supermicro", "product_name": "SYS-120U-TNR", "bios_vendor": "American Megatrends International, LLC."},
        iommu_units=["dmar0", "dmar1", "dmar2"],
        pci=[
            dict(addr="0000:00:00.0", vendor=0x8086, device=0x09a2, **{"class": 0x0880}, rev=4, group=0),
            dict(addr="0000:00:14.0", vendor=0x8086, device=0xa1af, **{"class": 0x0c03}, rev=9, driver="xhci_hcd",
                 group=12, reset="bus", multifn=True),
            dict(addr="0000:00:14.2", vendor=0x8086, device=0xa1b1, **{"class": 0x1180}, rev=9,
                 driver="intel_pch_thermal", group=12),
            dict(addr="0000:31:00.0", vendor=0x8086, device=0x1572, **{"class": 0x0200}, rev=2, driver="i40e",
                 group=40, reset="flr bus", flr=True, vfs=64, multifn=True, sub=(0x8086, 0x0006)),
            dict(addr="0000:31:00.1", vendor=0x8086, device=0x1572, **{"class": 0x0200}, rev=2, driver="i40e",
                 group=41, reset="flr bus", flr=True, vfs=64, multifn=True, sub=(0x8086, 0x0006)),
            dict(addr="0000:4b:00.0", vendor=0x144d, device=0xa80a, **{"class": 0x0108}, driver="nvme",
                 group=50, reset="flr bus", flr=True, sub=(0x144d, 0xa801)),
        ]),
    "amd-svm-avic": dict(
        vendor="AuthenticAMD",
        basic={1: (0x00a00f11, 0x00800800, 0x7ed8320b, 0x178bfbff), 7: (0, 0x219c97a9, 0x0040069c, 0x10)},
        ext={1: (0x00a00f11, 0x20000000, 0x75c237ff, 0x2fd3fbff),
             **dict(zip((2, 3, 4), brand_leaves("AMD EPYC 7763 64-Core Processor"))),
             8: (0x00003030, 0, 0, 0), 10: (0x00000001, 0x00008000, 0, AMD_SVM_EDX),
             # memory encryption (AMD APM vol. 3 E.4.17): SME, SEV, SEV-ES, SEV-SNP, VMPL; C-bit 51,
             # 5 physical address bits lost; 509 encrypted guests, SEV-only from ASID 1
             0x1f: (0x0001007f, 0x00000173, 509, 1)},
        msrs={0xc0010114: 0x0000000000000008},
        dev=["kvm", "vhost-net", "net/tun"],
        cgroups_v1=["cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "pids"],
        cpuinfo=cpuinfo("AMD EPYC 7763 64-Core Processor", AMD_FLAGS, None, 25, 1, 1, vendor="AuthenticAMD"),
        cmdline="BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=UUID=2f0c1f6e-0000-4000-8000-000000000001 ro iommu=pt",
        kmsg=["AMD-Vi: Using global IVHD EFR:0x59f77efa2094ade, EFR2:0x0", "AMD-Vi: Interrupt remapping enabled",
              "AMD-Vi: X2APIC enabled", "iommu: Default domain type: Passthrough (set via kernel command line)"],
        modules={"kvm": {"halt_poll_ns": "200000"}, "kvm_amd": {"nested": "1", "npt": "1", "avic": "1", "vgif": "1",
                                                                 "nrips": "1", "vls": "1", "sev": "Y",
                                                                 "sev_es": "Y"}},
        kvm=kvm_json(nested_state=4224, svm=True, svm_edx=AMD_SVM_EDX),
        acpi={"FACP": ("AMD", "AmdTable", b""), "APIC": ("AMD", "AmdTable", b""), "IVRS": ("AMD", "AmdTable", IVRS_BODY)},
        dmi={"sys_vendor": "Dell Inc.", "product_name": "PowerEdge R7525", "bios_vendor": "Dell Inc."},
        iommu_units=["ivhd0", "ivhd1", "ivhd2", "ivhd3"], group_type="identity",
        pci=[
            dict(addr="0000:00:00.0", vendor=0x1022, device=0x1480, **{"class": 0x0600}, group=0),
            dict(addr="0000:41:00.0", vendor=0x15b3, device=0x101d, **{"class": 0x0200}, driver="mlx5_core",
                 group=30, reset="flr bus", flr=True, vfs=8, sub=(0x15b3, 0x0016)),
            dict(addr="0000:c1:00.0", vendor=0x10de, device=0x20b5, **{"class": 0x0302}, rev=0xa1, driver="vfio-pci",
                 group=60, reset="flr bus", flr=True, sub=(0x10de, 0x1533)),
        ]),
    "intel-vtx-disabled-by-firmware": dict(
        vendor="GenuineIntel",
        basic={1: (0x00090672, 0x00800800, 0x7ffafbff & ~(1 << 31), 0xbfebfbff)},
        ext={1: (0, 0, 0x00000121, 0x2c100800), **dict(zip((2, 3, 4), brand_leaves("12th Gen Intel(R) Core(TM) i7-12700K"))),
             8: (0x00003027, 0, 0, 0)},
        msrs={0x3a: 0x1, **ICX_VMX},  # VMX capability MSRs stay readable while IA32_FEATURE_CONTROL locks VMX off
        cpuinfo=cpuinfo("12th Gen Intel(R) Core(TM) i7-12700K", INTEL_FLAGS % ("", ""), None, 6, 151, 2),
        cmdline="BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=UUID=5b1f0000-0000-4000-8000-000000000002 ro quiet splash",
        kmsg=["x86/cpu: VMX (outside TXT) disabled by BIOS", "kvm_intel: VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL"],
        modules={"kvm": {"halt_poll_ns": "200000"}},
        kvm=kvm_json(open_err=-2),
        acpi={"FACP": ("ALASKA", "A M I", b""), "APIC": ("ALASKA", "A M I", b""), "DMAR": ("INTEL", "EDK2", DMAR_BODY)},
        dmi={"sys_vendor": "Micro-Star International Co., Ltd.", "product_name": "MS-7D25", "bios_vendor": "American Megatrends International, LLC."},
        pci=[
            dict(addr="0000:00:00.0", vendor=0x8086, device=0x4668, **{"class": 0x0600}, rev=2),
            dict(addr="0000:00:02.0", vendor=0x8086, device=0x4680, **{"class": 0x0300}, rev=0x0c, driver="i915", reset="flr bus", flr=True),
        ]),
    "cloud-guest-no-nested": dict(
        vendor="GenuineIntel",
        basic={1: (0x00050657, 0x00800800, 0xfffa3203, 0x178bfbff)},
        ext={1: (0, 0, 0x00000121, 0x2c100800),
             **dict(zip((2, 3, 4), brand_leaves("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"))), 8: (0x0000302e, 0, 0, 0)},
        hv_leaves={0x40000000: (0x40000001,) + regs_of("KVMKVMKVM")},
        msrs={},
        cpuinfo=cpuinfo("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", INTEL_FLAGS.replace("dtes64 ", "") % ("", "") + " hypervisor", None, 6, 85, 7),
        cmdline="BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-cloud-amd64 root=PARTUUID=00000000-01 ro console=ttyS0 nvme_core.io_timeout=4294967295",
        kmsg=["Hypervisor detected: KVM", "kvm-clock: Using msrs 4b564d01 and 4b564d00", "Booting paravirtualized kernel on KVM"],
        modules={},
        kvm=kvm_json(open_err=-2),
        acpi={"FACP": ("AMAZON", "AMZNFACP", b""), "APIC": ("AMAZON", "AMZNAPIC", b"")},
        dmi={"sys_vendor": "Amazon EC2", "product_name": "m5.large", "bios_vendor": "Amazon EC2"},
        pci=[
            dict(addr="0000:00:00.0", vendor=0x8086, device=0x1237, **{"class": 0x0600}),
            dict(addr="0000:00:01.0", vendor=0x8086, device=0x7000, **{"class": 0x0601}),
            dict(addr="0000:00:03.0", vendor=0x1d0f, device=0x1111, **{"class": 0x0300}),
            dict(addr="0000:00:04.0", vendor=0x1d0f, device=0x8061, **{"class": 0x0108}, driver="nvme", reset="flr", flr=True),
            dict(addr="0000:00:05.0", vendor=0x1d0f, device=0xec20, **{"class": 0x0200}, driver="ena", reset="flr", flr=True),
        ]),
    "gpu-group-shared-usb": dict(
        vendor="AuthenticAMD",
        basic={1: (0x00a20f10, 0x00200800, 0x7ed8320b, 0x178bfbff)},
        ext={1: (0x00a20f10, 0x20000000, 0x75c237ff, 0x2fd3fbff),
             **dict(zip((2, 3, 4), brand_leaves("AMD Ryzen 9 5950X 16-Core Processor"))),
             8: (0x00003030, 0, 0, 0), 10: (0x00000001, 0x00008000, 0, AMD_SVM_EDX)},
        msrs={0xc0010114: "error:No such file or directory"},
        cpuinfo=cpuinfo("AMD Ryzen 9 5950X 16-Core Processor", AMD_FLAGS, None, 25, 33, 0, vendor="AuthenticAMD"),
        cmdline="BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=UUID=9a0d0000-0000-4000-8000-000000000003 ro quiet",
        kmsg=["AMD-Vi: Interrupt remapping enabled", "AMD-Vi: Virtual APIC enabled"],
        modules={"kvm": {"halt_poll_ns": "200000"}, "kvm_amd": {"nested": "1", "npt": "1", "avic": "0", "vgif": "1"}},
        kvm=kvm_json(nested_state=4224, svm=True, svm_edx=AMD_SVM_EDX),
        acpi={"FACP": ("ALASKA", "A M I", b""), "APIC": ("ALASKA", "A M I", b""), "IVRS": ("AMD", "AmdTable", IVRS_BODY)},
        dmi={"sys_vendor": "ASUSTeK COMPUTER INC.", "product_name": "System Product Name", "bios_vendor": "American Megatrends Inc."},
        iommu_units=["ivhd0"],
        pci=[
            dict(addr="0000:00:00.0", vendor=0x1022, device=0x1480, **{"class": 0x0600}, group=0),
            dict(addr="0000:02:00.0", vendor=0x1022, device=0x43ee, **{"class": 0x0c03}, driver="xhci_hcd", group=14,
                 reset="bus", multifn=True),
            dict(addr="0000:02:00.1", vendor=0x1022, device=0x43eb, **{"class": 0x0106}, driver="ahci", group=14),
            dict(addr="0000:02:00.2", vendor=0x1022, device=0x43e9, **{"class": 0x0604}, driver="pcieport", group=14),
            dict(addr="0000:0b:00.0", vendor=0x10de, device=0x2204, **{"class": 0x0300}, rev=0xa1, driver="nvidia",
                 group=14, reset="flr bus", flr=True, multifn=True, sub=(0x1043, 0x87b3)),
            dict(addr="0000:0b:00.1", vendor=0x10de, device=0x1aef, **{"class": 0x0403}, rev=0xa1,
                 driver="snd_hda_intel", group=14, reset="flr", flr=True, multifn=True, sub=(0x1043, 0x87b3)),
            dict(addr="0000:0c:00.0", vendor=0x8086, device=0x2723, **{"class": 0x0280}, rev=0x1a, driver="iwlwifi",
                 group=15, reset="bus", sub=(0x8086, 0x0084)),
        ]),
}

if __name__ == "__main__":
    for name, host in HOSTS.items():
        write_host(name, host)
        print("wrote", os.path.join(HERE, name))
