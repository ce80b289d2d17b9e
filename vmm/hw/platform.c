/* platform: what a PC has that no device of ours stands for, and the tables that describe the
 * machine. Ports guests probe where real PCs may have hardware (the POST port, ISA DMA page
 * registers, Super I/O configuration) read as all-ones and take writes silently, so that no
 * unclaimed-port warning is printed for them; then the ACPI tables and the MP table (tables.c). The
 * devices are each in their own file, registered by vm.c's table. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "common/errmsg.h"
#include "vmm/vm.h"

static void sink_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	(void)vm;
	(void)dev;
	(void)port;
	if (!write)
		memset(data, 0xff, (size_t)size);
}

static const struct {
	const char *name; uint16_t base, len;
} sinks[] = {
	{ "post", 0x80, 1 },
	{ "dma-page", 0x81, 15 },	/* Linux reads 0x87; no ISA DMA here */
	{ "superio", 0x2e, 2 },		/* probed by Linux's watchdog and serial drivers: none */
	{ "superio", 0x4e, 2 },
};

int vmm_platform_init(struct vmm *vm, char *err, size_t errlen)
{
	int rc;

	for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
		if ((rc = vmm_pio_register(vm, sinks[i].name, sinks[i].base, sinks[i].len, sink_io,
					   NULL)) < 0)
			return errmsg(err, errlen, rc, "device %s at port 0x%x: %s", sinks[i].name,
				      sinks[i].base, strerror(-rc));
	if (vm->cfg.restore)	/* the tables are in the restored memory, as the guest left them */
		return 0;
	if ((rc = vmm_acpi_build(vm)) < 0 || (rc = vmm_mptable_build(vm)) < 0)
		return errmsg(err, errlen, rc, "platform tables: %s", strerror(-rc));
	return 0;
}
