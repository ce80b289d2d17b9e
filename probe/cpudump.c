/* cpudump: see cpudump.h. Each parser reads lines and hands (leaf, subleaf, registers) to put(); a
 * leaf listed again without a subleaf is the next subleaf, as AIDA64 lists leaf 4's caches. */
#include "config.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "probe/cpudump.h"

struct sink {
	struct cpu_raw_data_t *d;
	uint32_t seen[64];		/* leaves put so far, for the next untagged subleaf */
	int nseen[64], nleaves;
	bool basic[MAX_CPUID_LEVEL], ext[MAX_EXT_CPUID_LEVEL];	/* which leaves the text had */
	bool partial;			/* a line of the form that stops short: the file was cut */
};

/* How many times leaf came before (the subleaf an untagged repeat stands for). */
static int occurrence(struct sink *s, uint32_t leaf)
{
	for (int i = 0; i < s->nleaves; i++)
		if (s->seen[i] == leaf)
			return s->nseen[i]++;
	if (s->nleaves < 64) {
		s->seen[s->nleaves] = leaf;
		s->nseen[s->nleaves++] = 1;
	}
	return 0;
}

static void copy(uint32_t dst[NUM_REGS], const uint32_t r[4])
{
	memcpy(dst, r, 4 * sizeof(uint32_t));
}

/* sub < 0: not given. Leaves beyond libcpuid's arrays are dropped: nothing we judge lives there. */
static void put(struct sink *s, uint32_t leaf, int sub, const uint32_t r[4])
{
	int n = occurrence(s, leaf);
	uint32_t k = (uint32_t)(sub < 0 ? n : sub);
	struct cpu_raw_data_t *d = s->d;

	if (leaf == 4 && k < MAX_INTELFN4_LEVEL)
		copy(d->intel_fn4[k], r);
	else if (leaf == 0xb && k < MAX_INTELFN11_LEVEL)
		copy(d->intel_fn11[k], r);
	else if (leaf == 0x12 && k < MAX_INTELFN12H_LEVEL)
		copy(d->intel_fn12h[k], r);
	else if (leaf == 0x14 && k < MAX_INTELFN14H_LEVEL)
		copy(d->intel_fn14h[k], r);
	else if (leaf == 0x8000001d && k < MAX_AMDFN8000001DH_LEVEL)
		copy(d->amd_fn8000001dh[k], r);
	if (k != 0)
		return;	/* the main arrays hold subleaf 0 */
	if (leaf < MAX_CPUID_LEVEL) {
		copy(d->basic_cpuid[leaf], r);
		s->basic[leaf] = true;
	} else if (leaf >= 0x80000000u && leaf - 0x80000000u < MAX_EXT_CPUID_LEVEL) {
		copy(d->ext_cpuid[leaf - 0x80000000u], r);
		s->ext[leaf - 0x80000000u] = true;
	}
}

/* Calls line() for each line of text until it returns false (a second CPU begins). */
static void each_line(const char *text, bool (*line)(const char *l, size_t n, struct sink *s),
		      struct sink *s)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (!line(p, n, s))
			return;
		p += n + (p[n] == '\n');
	}
}

/* A line as a C string, bounded: longer lines are not CPUID lines of any form. */
static bool line_copy(char *buf, size_t len, const char *l, size_t n)
{
	if (n >= len)
		return false;
	memcpy(buf, l, n);
	buf[n] = '\0';
	return true;
}

/* ---- libcpuid: "basic_cpuid[1]=000606a6 00200800 7ffefbff bfebfbff" ---- */

static bool libcpuid_looks(const char *text)
{
	return strstr(text, "basic_cpuid[0]=") != NULL;
}

static bool libcpuid_line(const char *l, size_t n, struct sink *s)
{
	static const struct { const char *key; uint32_t leaf; bool sub;
	} keys[] = {
		{ "basic_cpuid", 0, false },
		{ "ext_cpuid", 0x80000000u, false },
		{ "intel_fn4", 4, true },
		{ "intel_fn11", 0xb, true },
		{ "intel_fn12h", 0x12, true },
		{ "intel_fn14h", 0x14, true },
		{ "amd_fn8000001dh", 0x8000001d, true },
	};
	char buf[256], key[32];
	unsigned idx;
	uint32_t r[4];

	if (!line_copy(buf, sizeof(buf), l, n))
		return true;
	if (strstr(buf, "Logical CPU #") && s->nleaves)
		return false;	/* a multi-CPU dump: the first CPU's leaves are enough */
	int got = sscanf(buf, "%31[a-z0-9_][%u]=%x %x %x %x", key, &idx, &r[0], &r[1], &r[2], &r[3]);
	if (got != 6) {
		s->partial |= got >= 2 && strstr(buf, "_cpuid") != NULL;
		return true;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].key)) {
			if (keys[i].sub)
				put(s, keys[i].leaf, (int)idx, r);
			else if (idx < 64)
				put(s, keys[i].leaf + idx, 0, r);
		}
	return true;
}

/* ---- AIDA64: "CPUID 00000004: 1C004121-01C0003F-0000003F-00000000 [SL 00]" (older versions: no
 * colon, a tab), one CPU after another: "------[ Logical CPU #0 ]------", "CPUID Registers (CPU
 * #1):" or "CPU#000 AffMask: ..." */

/* p at "CPUID ": 5 when leaf and registers were read, 1 when only the leaf (a cut line), else 0 */
static int aida_fields(const char *p, unsigned *leaf, uint32_t r[4])
{
	int n = 0;

	if (sscanf(p, "CPUID %8x%n", leaf, &n) != 1 || n != 14)
		return 0;
	p += n;
	p += strspn(p, " \t");
	p += *p == ':';
	return sscanf(p, " %8x-%8x-%8x-%8x", &r[0], &r[1], &r[2], &r[3]) == 4 ? 5 : 1;
}

static bool aida_looks(const char *text)
{
	for (const char *p = strstr(text, "CPUID "); p; p = strstr(p + 1, "CPUID ")) {
		unsigned leaf;
		uint32_t r[4];
		if (aida_fields(p, &leaf, r) == 5)
			return true;
	}
	return false;
}

static bool aida_line(const char *l, size_t n, struct sink *s)
{
	char buf[256];
	unsigned leaf, sl;
	uint32_t r[4];
	int sub = -1;

	if (!line_copy(buf, sizeof(buf), l, n))
		return true;
	if ((strstr(buf, "Logical CPU #") || strstr(buf, "CPUID Registers (CPU #") ||
	     !strncmp(buf, "CPU#", 4)) && s->nleaves)
		return false;
	const char *p = strstr(buf, "CPUID ");
	int got = p ? aida_fields(p, &leaf, r) : 0;
	s->partial |= got == 1;
	if (got != 5)
		return true;
	const char *t = strstr(p, "[SL ");
	if (t && sscanf(t, "[SL %2x]", &sl) == 1)
		sub = (int)sl;
	put(s, leaf, sub, r);
	return true;
}

/* ---- cpuid -r (Debian's cpuid): "   0x00000004 0x01: eax=0x1c004122 ebx=... edx=..." ---- */

static bool cpuidr_looks(const char *text)
{
	const char *p = strstr(text, ": eax=0x");

	return p && p - text >= 15 && !strncmp(p - 15, "0x", 2);
}

static bool cpuidr_line(const char *l, size_t n, struct sink *s)
{
	char buf[256];
	unsigned leaf, sub, cpu;
	uint32_t r[4];

	if (!line_copy(buf, sizeof(buf), l, n))
		return true;
	if (sscanf(buf, "CPU %u:", &cpu) == 1 && s->nleaves)
		return false;
	int got = sscanf(buf, " 0x%8x 0x%2x: eax=0x%8x ebx=0x%8x ecx=0x%8x edx=0x%8x", &leaf, &sub,
			 &r[0], &r[1], &r[2], &r[3]);
	if (got == 6)
		put(s, leaf, (int)sub, r);
	else
		s->partial |= got >= 2;
	return true;
}

/* The forms, tried in order: the most particular mark first. */
static const struct {
	const char *name;
	bool (*looks)(const char *text);
	bool (*line)(const char *l, size_t n, struct sink *s);
} forms[] = {
	{ "libcpuid raw dump", libcpuid_looks, libcpuid_line },
	{ "cpuid -r", cpuidr_looks, cpuidr_line },
	{ "AIDA64 CPUID report", aida_looks, aida_line },
};

/* Leaf 0 (the highest leaf, the vendor) and leaf 1 (family, features) every x86 CPU has; a leaf
 * the text leaves out reads as zeros, as CPUID returns for a reserved leaf (AIDA64 leaves out
 * those it deems empty: leaf 4 on AMD, 0xb, 0x1b...). A file is cut only where a line of its form
 * stops short. */
static int complete(const struct sink *s, const char *form, char *why, size_t whylen)
{
	const struct cpu_raw_data_t *out = s->d;
	uint32_t maxb = out->basic_cpuid[0][0];

	if (maxb < 1 || !s->basic[0] || !s->basic[1] || !out->basic_cpuid[1][0]) {
		snprintf(why, whylen, "a %s without leaf %s: truncated?", form,
			 maxb < 1 || !s->basic[0] ? "0" : "1");
		return -EINVAL;
	}
	if (s->partial) {
		snprintf(why, whylen, "a %s with a line cut short: truncated?", form);
		return -EINVAL;
	}
	return 0;
}

static int parse_form(size_t f, const char *text, struct cpu_raw_data_t *out, char *why,
		      size_t whylen)
{
	struct sink s = { .d = out };
	int rc;

	each_line(text, forms[f].line, &s);
	if ((rc = complete(&s, forms[f].name, why, whylen)) < 0)
		memset(out, 0, sizeof(*out));	/* nothing half-read */
	return rc;
}

int cpudump_parse(const char *text, size_t len, struct cpu_raw_data_t *out, const char **form,
		  char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	*form = NULL;
	if (strlen(text) != len) {
		snprintf(why, whylen, "a NUL byte inside it: not a text dump");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (forms[i].looks(text)) {
			*form = forms[i].name;
			return parse_form(i, text, out, why, whylen);
		}
	if (strstr(text, "arm_midr=")) {
		snprintf(why, whylen, "an ARM CPU's registers (libcpuid's arm_midr...), not x86 "
			 "CPUID: VT-x and AMD-V are x86's; an ARM host's virtualization is the "
			 "kernel's KVM/arm64 question, which this probe does not judge");
		return -ENOTSUP;
	}
	snprintf(why, whylen, "no CPUID dump form it knows (libcpuid's cpuid_tool --save, AIDA64's "
		 "CPUID report, cpuid -r)");
	return -EINVAL;
}

int cpudump_parse_as(int form, const char *text, size_t len, struct cpu_raw_data_t *out,
		     char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	if (form < 0 || (size_t)form >= sizeof(forms) / sizeof(forms[0]) || strlen(text) != len)
		return -EINVAL;
	return parse_form((size_t)form, text, out, why, whylen);
}
