#!/usr/bin/env python3
"""Writes the CPUID dump fixtures: one CPU's leaves in every form people send (tests/test_cpudump.c).

The Xeon and EPYC leaves are the recorded hosts' (tests/data/hosts/intel-vtx-nested and amd-svm-avic,
built from documented values by make-fixtures.py), read from their libcpuid dumps and written again as
AIDA64 reports in its three layouts and as `cpuid -r`; leaf 4 (caches) as the CPU lists it, one
subleaf a line. The Pentium III (Coppermine, family 6 model 8 stepping 3: Intel's specification
update 244453) has basic leaves 0-3 and no extended leaves at all."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS = os.path.join(HERE, "..", "hosts")

def libcpuid_leaves(path):
    basic, ext, fn4 = {}, {}, {}
    for line in open(path):
        key, _, val = line.strip().partition("=")
        if "[" not in key:
            continue
        name, idx = key[:-1].split("[")
        regs = [int(x, 16) for x in val.split()]
        if name == "basic_cpuid":
            basic[int(idx)] = regs
        elif name == "ext_cpuid":
            ext[0x80000000 + int(idx)] = regs
        elif name == "intel_fn4":
            fn4[int(idx)] = regs
    leaves = []	# (leaf, subleaf, regs) as the CPU reports them, up to its highest leaves
    for leaf in range(0, basic[0][0] + 1):
        if leaf == 4 and fn4:
            for sub in sorted(fn4):
                if any(fn4[sub]) or sub == 0:
                    leaves.append((4, sub, fn4[sub]))
            continue
        leaves.append((leaf, 0, basic.get(leaf, [0, 0, 0, 0])))
    for leaf in range(0x80000000, ext.get(0x80000000, [0x7fffffff])[0] + 1):
        leaves.append((leaf, 0, ext.get(leaf, [0, 0, 0, 0])))
    return leaves

def aida_logical(leaves, ncpu=2):
    out = ["CPUID", "", ""]
    for cpu in range(ncpu):
        out.append("------[ Logical CPU #%d ]------" % cpu)
        out.append("")
        for leaf, sub, r in leaves:
            out.append("CPUID %08X: %08X-%08X-%08X-%08X" % (leaf, *r))
        out.append("")
    return "\r\n".join(out) + "\r\n"	# AIDA64 writes DOS line ends

def aida_registers(leaves, ncpu=2):
    out = ["--------[ CPUID ]---------------------------------------------------------------", ""]
    for cpu in range(1, ncpu + 1):
        out.append("CPUID Registers (CPU #%d):" % cpu)
        for leaf, sub, r in leaves:
            out.append("      CPUID %08X: %08X-%08X-%08X-%08X" % (leaf, *r))
        out.append("")
    return "\n".join(out) + "\n"

def aida_affmask(leaves, ncpu=2):
    out = []
    for cpu in range(ncpu):
        out.append("CPU#%03d AffMask: 0x%016X" % (cpu, 1 << cpu))
        for leaf, sub, r in leaves:
            tag = " [SL %02X]" % sub if leaf == 4 else ""
            out.append("CPUID %08X: %08X-%08X-%08X-%08X%s" % (leaf, *r, tag))
        out.append("")
    return "\n".join(out) + "\n"

def cpuid_r(leaves, ncpu=2):
    out = []
    for cpu in range(ncpu):
        out.append("CPU %d:" % cpu)
        for leaf, sub, r in leaves:
            out.append("   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x" % (leaf, sub, *r))
    return "\n".join(out) + "\n"

def write(name, text):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        f.write(text)

for cpu, host in (("xeon-vmx", "intel-vtx-nested"), ("epyc-svm", "amd-svm-avic")):
    src = os.path.join(HOSTS, host, "cpuid.raw")
    leaves = libcpuid_leaves(src)
    write(cpu + ".libcpuid", open(src).read())
    write(cpu + ".aida-logical.txt", aida_logical(leaves))
    write(cpu + ".aida-registers.txt", aida_registers(leaves))
    write(cpu + ".aida-affmask.txt", aida_affmask(leaves))
    write(cpu + ".cpuid-r.txt", cpuid_r(leaves))

g = "GenuineIntel".encode()
ebx, edx, ecx = (int.from_bytes(g[i:i + 4], "little") for i in (0, 4, 8))
p3 = [(0, 0, [3, ebx, ecx, edx]),
      (1, 0, [0x00000683, 0x00000002, 0x00000000, 0x0383fbff]),	# no ECX features; EDX: SSE, FXSR, MMX, ...
      (2, 0, [0x03020101, 0x00000000, 0x00000000, 0x0c040882]),
      (3, 0, [0x00000000, 0x00000000, 0x8d2b1a69, 0x00000683])]
write("pentium3.cpuid-r.txt", cpuid_r(p3, 1))
write("pentium3.aida-logical.txt", aida_logical(p3, 1))
