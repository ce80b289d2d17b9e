/* vmxcaps: decoders for VT-x capability MSRs, SVM CPUID leaf 0x8000000A and /proc/cpuinfo flags. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "probe/vmxcaps.h"

/* name: how Linux spells the feature in /proc/cpuinfo ("flags" or "vmx flags"). */
static const struct {
	enum vmx_feature f;
	const char *name;
} vf_table[VF_COUNT] = {
	{ VF_EPT, "ept" },
	{ VF_VPID, "vpid" },
	{ VF_UG, "unrestricted_guest" },
	{ VF_APIC_REG, "vapic_reg" },
	{ VF_VID, "vid" },
	{ VF_POSTED_INTR, "posted_intr" },
	{ VF_SHADOW_VMCS, "shadow_vmcs" },
	{ VF_EPT_AD, "ept_ad" },
	{ VF_NPT, "npt" },
	{ VF_AVIC, "avic" },
	{ VF_X2AVIC, "x2avic" },
	{ VF_NRIPS, "nrip_save" },
	{ VF_VGIF, "vgif" },
	{ VF_VNMI, "vnmi" },
	{ VF_VMSAVE_VIRT, "v_vmsave_vmload" },
	{ VF_DECODE_ASSISTS, "decodeassists" },
};

const char *vmxcaps_name(enum vmx_feature f)
{
	return (unsigned)f < VF_COUNT ? vf_table[f].name : "?";
}

void vmxcaps_names(uint64_t features, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; i < VF_COUNT; i++) {
		if (!(features & VF(i)))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", vf_table[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "none");
}

/* Intel SDM vol. 3, appendix A: allowed-1 settings are bits 63:32 of each control MSR. */
uint64_t vmxcaps_decode_msrs(uint64_t pinbased, uint64_t procbased, uint64_t procbased2,
			     uint64_t ept_vpid)
{
	uint32_t pin1 = (uint32_t)(pinbased >> 32), proc1 = (uint32_t)(procbased >> 32);
	uint32_t sec1 = (uint32_t)(procbased2 >> 32);
	uint64_t f = 0;

	if (pin1 & (1u << 7))
		f |= VF(VF_POSTED_INTR);
	if (!(proc1 & (1u << 31)))	/* no secondary controls: none of the rest exists */
		return f;
	if (sec1 & (1u << 1))
		f |= VF(VF_EPT);
	if (sec1 & (1u << 5))
		f |= VF(VF_VPID);
	if (sec1 & (1u << 7))
		f |= VF(VF_UG);
	if (sec1 & (1u << 8))
		f |= VF(VF_APIC_REG);
	if (sec1 & (1u << 9))
		f |= VF(VF_VID);
	if (sec1 & (1u << 14))
		f |= VF(VF_SHADOW_VMCS);
	if ((f & VF(VF_EPT)) && (ept_vpid & (1ull << 21)))
		f |= VF(VF_EPT_AD);
	return f;
}

uint64_t vmxcaps_decode_svm(uint32_t edx)
{
	static const struct { int bit; enum vmx_feature f; } bits[] = {
		{ 0, VF_NPT }, { 3, VF_NRIPS }, { 7, VF_DECODE_ASSISTS }, { 13, VF_AVIC },
		{ 15, VF_VMSAVE_VIRT }, { 16, VF_VGIF }, { 18, VF_X2AVIC }, { 25, VF_VNMI },
	};
	uint64_t f = 0;

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (edx & (1u << bits[i].bit))
			f |= VF(bits[i].f);
	return f;
}

static void cpuinfo_token(const char *tok, size_t n, struct cpuinfo_flags *out)
{
	if (n == 3 && !memcmp(tok, "vmx", 3))
		out->vmx = true;
	else if (n == 3 && !memcmp(tok, "svm", 3))
		out->svm = true;
	else if (n == 10 && !memcmp(tok, "hypervisor", 10))
		out->hypervisor = true;
	for (int i = 0; i < VF_COUNT; i++)
		if (strlen(vf_table[i].name) == n && !memcmp(tok, vf_table[i].name, n))
			out->features |= VF(i);
}

static void cpuinfo_tokens(const char *p, const char *end, struct cpuinfo_flags *out)
{
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *s = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (p > s)
			cpuinfo_token(s, (size_t)(p - s), out);
	}
}

/* Only the first processor's block is read: Linux prints the boot CPU's view for all. */
int vmxcaps_parse_cpuinfo(const char *text, size_t len, struct cpuinfo_flags *out)
{
	const char *p = text, *end = text + len;
	bool flags_seen = false;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		size_t klen = colon ? (size_t)(colon - p) : 0;

		while (klen && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
			klen--;
		if (colon && klen == 9 && !memcmp(p, "processor", 9))
			out->processors++;
		if (colon && out->processors <= 1) {
			if (klen == 5 && !memcmp(p, "flags", 5)) {
				flags_seen = true;
				cpuinfo_tokens(colon + 1, le, out);
			} else if (klen == 9 && !memcmp(p, "vmx flags", 9)) {
				out->vmx_flags_line = true;
				cpuinfo_tokens(colon + 1, le, out);
			}
		}
		p = eol ? eol + 1 : end;
	}
	return flags_seen ? 0 : -EINVAL;
}

/* Bit 0: lock; bit 2: VMX enabled outside SMX. Locked without bit 2 means firmware said no. */
int vmxcaps_feature_control_disabled(uint64_t v)
{
	return (v & 1) && !(v & 4);
}

/* AMD APM vol. 2, 15.30.1: VM_CR bit 3 LOCK, bit 4 SVMDIS. */
int vmxcaps_vm_cr_disabled(uint64_t v)
{
	return (v & (1u << 4)) != 0;
}
