/* acpi: decoders for the ACPI table headers and the DMAR/IVRS fields the probe needs (untrusted
 * input). */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "probe/acpi.h"

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Keeps printable bytes and trims the space padding ACPI uses. */
static void acpi_text(char *dst, const uint8_t *src, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		dst[k++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	while (k && (dst[k - 1] == ' ' || dst[k - 1] == '?'))
		k--;
	dst[k] = '\0';
}

int acpi_parse_header(const uint8_t *buf, size_t len, struct acpi_header *h)
{
	if (len < ACPI_HEADER_LEN)
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		if (!((buf[i] >= 'A' && buf[i] <= 'Z') || (buf[i] >= '0' && buf[i] <= '9') ||
		      buf[i] == '_'))
			return -EINVAL;
	memcpy(h->sig, buf, 4);
	h->sig[4] = '\0';
	h->length = le32(buf + 4);
	if (h->length < ACPI_HEADER_LEN)
		return -EINVAL;
	h->revision = buf[8];
	acpi_text(h->oem_id, buf + 10, 6);
	acpi_text(h->oem_table_id, buf + 16, 8);
	return 0;
}

/* Intel VT-d spec, 8.1: host address width at 36, flags at 37. */
int acpi_dmar_flags(const uint8_t *buf, size_t len)
{
	struct acpi_header h;

	if (acpi_parse_header(buf, len, &h) < 0 || strcmp(h.sig, "DMAR") || len < 38 ||
	    h.length < 38)
		return -EINVAL;
	return buf[37];
}

/* AMD IOMMU spec, 5.2: IVinfo at 36. */
int acpi_ivrs_info(const uint8_t *buf, size_t len, uint32_t *ivinfo)
{
	struct acpi_header h;

	if (acpi_parse_header(buf, len, &h) < 0 || strcmp(h.sig, "IVRS") || len < 40 ||
	    h.length < 40)
		return -EINVAL;
	*ivinfo = le32(buf + 36);
	return 0;
}

static const struct { const char *oem; const char *platform; const char *kind; } acpi_oems[] = {
	{ "FIRECK", "Firecracker", "KVM-based microVM (KVM: type 1)" },
	{ "BOCHS", "QEMU", "QEMU machine (KVM: type 1; TCG: emulator)" },
	{ "BXPC", "QEMU", "QEMU machine (KVM: type 1; TCG: emulator)" },
	{ "VBOX", "VirtualBox", "type 2" },
	{ "VMWARE", "VMware", "type 1 (ESXi) or type 2 (Workstation)" },
	{ "AMAZON", "Amazon EC2 Nitro", "KVM-based, type 1" },
	{ "Google", "Google Compute Engine", "KVM-based, type 1" },
	{ "VRTUAL", "Microsoft Hyper-V", "type 1" },
	{ "Xen", "Xen", "type 1" },
	{ "CLOUDH", "Cloud Hypervisor", "KVM-based microVM (KVM: type 1)" },
	{ "CHV", "Cloud Hypervisor", "KVM-based microVM (KVM: type 1)" },
	{ "PRLS", "Parallels", "type 2" },
};

const char *acpi_oem_platform(const char *oem_id, const char **kind)
{
	for (size_t i = 0; i < sizeof(acpi_oems) / sizeof(acpi_oems[0]); i++)
		if (!strcmp(oem_id, acpi_oems[i].oem)) {
			if (kind)
				*kind = acpi_oems[i].kind;
			return acpi_oems[i].platform;
		}
	return NULL;
}
