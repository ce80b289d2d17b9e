/* i8042: the PC keyboard controller (ports 0x60/0x64, IRQ 1) with a keyboard that answers its
 * commands and no AUX (mouse) port, so Linux's probe passes at once instead of polling 10,000 times
 * and failing ("Can't read CTR"). Also the reset line: command 0xfe, or output-port bit 0 cleared.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/vm.h"

#define DATA 0x60
#define CMD 0x64
#define KBD_IRQ 1
#define STR_OBF 0x01
#define STR_SYS 0x04
#define STR_CMD 0x08
#define STR_UNLOCKED 0x10
#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40
#define KBD_ACK 0xfa
#define QUEUE 16

/* What the guest sees (a snapshot saves it as it is) */
struct i8042_regs {
	uint8_t ctr, status;
	uint8_t pending;		/* a controller command waiting for its data byte, or 0 */
	uint8_t kbd_pending;		/* a keyboard command waiting for its parameter, or 0 */
	uint8_t out[QUEUE];		/* what the guest reads from port 0x60, oldest first */
	unsigned nout;
};

struct vmm_i8042 {
	pthread_mutex_t lock;
	struct i8042_regs r;
};

/* Called with the lock held: an edge on IRQ 1 for each byte the keyboard side delivers. */
static void deliver(struct vmm *vm, struct vmm_i8042 *k)
{
	if (k->r.nout && (k->r.ctr & CTR_KBDINT)) {
		vmm_irq_line(vm, KBD_IRQ, 1);
		vmm_irq_line(vm, KBD_IRQ, 0);
	}
}

static void push(struct vmm_i8042 *k, uint8_t v)
{
	if (k->r.nout < QUEUE)
		k->r.out[k->r.nout++] = v;
}

/* A controller's own answer replaces whatever was waiting, as the 8042's firmware does. */
static void reply(struct vmm_i8042 *k, uint8_t v)
{
	k->r.nout = 0;
	push(k, v);
}

static void controller_command(struct vmm *vm, struct vmm_i8042 *k, uint8_t c)
{
	switch (c) {
	case 0x20: reply(k, k->r.ctr); break;			/* read the command byte (CTR) */
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:	/* a data byte follows */
		k->r.pending = c;
		break;
	case 0xa7: k->r.ctr |= CTR_AUXDIS; break;
	case 0xa8: k->r.ctr &= (uint8_t)~CTR_AUXDIS; break;
	case 0xa9: reply(k, 0x01); break; /* AUX interface test: clock stuck: no AUX port */
	case 0xaa: reply(k, 0x55); break;			/* self test passed */
	case 0xab: reply(k, 0x00); break;			/* keyboard interface test passed */
	case 0xad: k->r.ctr |= CTR_KBDDIS; break;
	case 0xae: k->r.ctr &= (uint8_t)~CTR_KBDDIS; break;
	case 0xc0: reply(k, 0x00); break;			/* input port */
	case 0xd0: reply(k, 0x03); break; /* output port: A20 on, not in reset */
	case 0xfe: vmm_end(vm, VMM_END_RESET, 0); break;	/* pulse the reset line */
	default: break;
	}
}

/* The keyboard: every command and parameter is acknowledged; reset and identify answer as an MF2
 * keyboard. */
static void keyboard_byte(struct vmm_i8042 *k, uint8_t v)
{
	if (k->r.kbd_pending) {
		push(k, KBD_ACK);
		if (k->r.kbd_pending == 0xf0 && v == 0)
			push(k, 0x02);			/* the scan code set in use */
		k->r.kbd_pending = 0;
		return;
	}
	switch (v) {
	case 0xee: push(k, 0xee); return;		/* echo */
	case 0xff: push(k, KBD_ACK); push(k, 0xaa); return;	/* reset: self test passed */
	case 0xf2: push(k, KBD_ACK); push(k, 0xab); push(k, 0x83); return;	/* identify */
	case 0xed:
	case 0xf0:
	case 0xf3: k->r.kbd_pending = v; break; /* LEDs, scan code set, typematic */
	default: break;
	}
	push(k, KBD_ACK);
}

static void data_write(struct vmm *vm, struct vmm_i8042 *k, uint8_t v)
{
	uint8_t c = k->r.pending;

	k->r.pending = 0;
	switch (c) {
	case 0x60: k->r.ctr = v; break;
	case 0xd1:
		if (!(v & 1))
			vmm_end(vm, VMM_END_RESET, 0);	/* output port bit 0 is the reset line */
		break;
	case 0xd2: reply(k, v); break;			/* as if the keyboard sent it */
	case 0xd3: reply(k, v); break; /* AUX loopback; not flagged as AUX: there is none */
	case 0xd4: break;				/* to the AUX device: nobody there */
	default: keyboard_byte(k, v); break;
	}
}

static uint8_t data_read(struct vmm_i8042 *k)
{
	uint8_t v = k->r.nout ? k->r.out[0] : 0;

	if (k->r.nout)
		memmove(k->r.out, k->r.out + 1, --k->r.nout);
	return v;
}

static void i8042_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_i8042 *k = dev;

	(void)size;
	pthread_mutex_lock(&k->lock);
	if (port == CMD && write) {
		k->r.status |= STR_CMD;
		controller_command(vm, k, data[0]);
	} else if (port == DATA && write) {
		k->r.status &= (uint8_t)~STR_CMD;
		data_write(vm, k, data[0]);
	} else if (port == CMD) {
		data[0] = (uint8_t)((k->r.status & STR_CMD) | STR_UNLOCKED |
				    (k->r.ctr & CTR_SYS ? STR_SYS : 0) | (k->r.nout ? STR_OBF : 0));
	} else {
		data[0] = data_read(k);
	}
	if (write || port == DATA)
		deliver(vm, k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_destroy(struct vmm *vm, void *priv)
{
	(void)vm;
	free(priv);
}

static int i8042_save(struct vmm *vm, void *priv, void **buf, size_t *len)
{
	struct vmm_i8042 *k = priv;

	(void)vm;
	return vmm_state_save(&k->lock, &k->r, sizeof(k->r), buf, len);
}

static bool regs_valid(const void *copy)
{
	return ((const struct i8042_regs *)copy)->nout <= QUEUE;
}

static int i8042_load(struct vmm *vm, void *priv, const void *buf, size_t len)
{
	struct vmm_i8042 *k = priv;

	(void)vm;
	return vmm_state_load(&k->lock, &k->r, sizeof(k->r), buf, len, regs_valid);
}

static const struct vmm_device_ops i8042_device = { .kind = "i8042", .destroy = i8042_destroy,
						    .save = i8042_save, .load = i8042_load };

int vmm_i8042_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_i8042 *k = calloc(1, sizeof(*k));
	int rc;

	if (!k)
		return -ENOMEM;
	if ((rc = vmm_device_add(vm, &i8042_device, k)) < 0) {
		free(k);
		return rc;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->r.ctr = CTR_XLATE | CTR_AUXDIS | CTR_SYS |
		CTR_KBDINT; /* as firmware leaves it after POST */
	if ((rc = vmm_pio_register(vm, "i8042", DATA, 1, i8042_io, k)) < 0 ||
	    (rc = vmm_pio_register(vm, "i8042", CMD, 1, i8042_io, k)) < 0) {
		snprintf(err, errlen, "device i8042 at ports 0x60/0x64: %s", strerror(-rc));
		return rc;
	}
	return 0;
}
