/* serial: a 16550 UART on COM1 (0x3f8, IRQ 4) with input, so the console is interactive; Ctrl-a x
 * quits. */
#include "config.h"
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "common/termfilter.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#define COM1 0x3f8
#define COM1_IRQ 4
#define RX_SIZE 4096
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDA 0x01
#define IER_THRE 0x02
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define ESCAPE 0x01	/* Ctrl-a, as QEMU */
#define HISTORY (64 * 1024) /* the console's last output, for whoever attaches later (the TUI) */

/* What the guest sees: the UART's registers and its receive FIFO. */
struct uart_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending, irq;
	uint8_t rx[RX_SIZE];
	unsigned rx_head, rx_tail;
};

struct vmm_serial {
	struct vmm *vm;
	pthread_mutex_t lock;
	struct uart_state u;
	/* the host's side: the console's files, the reader thread, input held while paused */
	bool paused;
	uint8_t held[RX_SIZE];
	unsigned nheld;
	int out_fd, in_fd, log_fd, pty_fd;
	bool filter;			/* out_fd is the user's terminal */
	struct termfilter tf;
	char pty_path[64];
	pthread_t reader;
	bool reader_started, escape;
	int wake[2];			/* stops the reader */
	struct termios saved;
	bool raw;
	uint8_t history[HISTORY];
	/* bytes the guest has sent in all; history holds the last HISTORY of them */
	uint64_t written;
};

static bool rx_ready(const struct vmm_serial *s)
{
	return s->u.rx_head != s->u.rx_tail;
}

/* Called with the lock held: the line follows the interrupt condition (gated by OUT2, as on a PC).
 */
static void update_irq(struct vmm *vm, struct vmm_serial *s)
{
	bool want = (s->u.mcr & MCR_OUT2) &&
		(((s->u.ier & IER_RDA) && rx_ready(s)) || ((s->u.ier & IER_THRE) && s->u.thre_pending));

	if (want != s->u.irq) {
		s->u.irq = want;
		vmm_irq_line(vm, COM1_IRQ, want);
	}
}

/* Called with the lock held. A console nobody reads (a pty not attached) never stalls the guest:
 * the pty is non-blocking and what it cannot take is still in the history. */
static void emit(struct vmm_serial *s, uint8_t ch)
{
	char out[1 + TERMFILTER_SEQ_MAX];

	s->history[s->written++ % HISTORY] = ch;
	/* on this terminal (stdio): not the sequences that write its clipboard or ask it something,
	 * whose answer would come back as the guest's input; a pty's reader is its own terminal */
	size_t n = 1;
	out[0] = (char)ch;
	if (s->filter)
		n = termfilter_feed(&s->tf, (const char *)&ch, 1, out);
	if (s->out_fd >= 0 && n && write(s->out_fd, out, n) < 0) { /* console gone: the guest goes on */
	}
	if (s->log_fd >= 0 && write(s->log_fd, &ch, 1) < 0) { /* log full: same */ }
}

static uint8_t read_reg(struct vmm_serial *s, int reg)
{
	uint8_t v = 0;

	switch (reg) {
	case 0:
		if (s->u.lcr & 0x80)
			return s->u.dll;
		if (rx_ready(s)) {
			v = s->u.rx[s->u.rx_tail];
			s->u.rx_tail = (s->u.rx_tail + 1) % RX_SIZE;
		}
		return v;
	case 1: return s->u.lcr & 0x80 ? s->u.dlm : s->u.ier;
	case 2:
		v = (s->u.fcr & 1) ? 0xc0 : 0;
		if ((s->u.ier & IER_RDA) && rx_ready(s))
			return v | 0x04;
		if ((s->u.ier & IER_THRE) && s->u.thre_pending) {
			s->u.thre_pending = false;	/* reading IIR acknowledges THRE */
			return v | 0x02;
		}
		return v | 0x01;
	case 3: return s->u.lcr;
	case 4: return s->u.mcr;
	case 5: return LSR_THRE | LSR_TEMT | (rx_ready(s) ? LSR_DR : 0);
	case 6:	/* loopback maps OUT2,OUT1,RTS,DTR onto DCD,RI,CTS,DSR (Linux probes this) */
		if (s->u.mcr & MCR_LOOP)
			return (uint8_t)(((s->u.mcr & 0x08) << 4) | ((s->u.mcr & 0x04) << 4) |
					 ((s->u.mcr & 0x02) << 3) | ((s->u.mcr & 0x01) << 5));
		return 0xb0;	/* DCD, DSR, CTS */
	default: return s->u.scr;
	}
}

static void write_reg(struct vmm_serial *s, int reg, uint8_t v)
{
	switch (reg) {
	case 0:
		if (s->u.lcr & 0x80) {
			s->u.dll = v;
		} else {
			if (!(s->u.mcr & MCR_LOOP))
				emit(s, v);
			s->u.thre_pending = true;
		}
		break;
	case 1:
		if (s->u.lcr & 0x80)
			s->u.dlm = v;
		else {
			if ((v & IER_THRE) && !(s->u.ier & IER_THRE))
				s->u.thre_pending = true;	/* the transmitter is always empty */
			s->u.ier = v & 0x0f;
		}
		break;
	case 2: s->u.fcr = v; break;
	case 3: s->u.lcr = v; break;
	case 4: s->u.mcr = v & 0x1f; break;
	case 7: s->u.scr = v; break;
	default: break;
	}
}

static void serial_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_serial *s = dev;

	(void)size;
	pthread_mutex_lock(&s->lock);
	if (write)
		write_reg(s, port - COM1, data[0]);
	else
		data[0] = read_reg(s, port - COM1);
	update_irq(vm, s);
	pthread_mutex_unlock(&s->lock);
}

/* COM2-4: nothing there; claimed so a probing guest is not reported as poking stray ports. */
static void sink_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	(void)vm;
	(void)dev;
	(void)port;
	if (!write)
		memset(data, 0xff, (size_t)size);
}

/* Called with the lock held: a byte into the receive FIFO, dropped when it is full. */
static void fifo_put(struct vmm_serial *s, uint8_t ch)
{
	if ((s->u.rx_head + 1) % RX_SIZE != s->u.rx_tail) {
		s->u.rx[s->u.rx_head] = ch;
		s->u.rx_head = (s->u.rx_head + 1) % RX_SIZE;
	}
}

static void push_input(struct vmm *vm, struct vmm_serial *s, const uint8_t *buf, ssize_t n)
{
	pthread_mutex_lock(&s->lock);
	for (ssize_t i = 0; i < n; i++) {
		if (s->escape) {
			s->escape = false;
			if (buf[i] == 'x') {
				pthread_mutex_unlock(&s->lock);
				vmm_stop(vm);
				return;
			}
			if (buf[i] != ESCAPE)
				continue;
		} else if (buf[i] == ESCAPE && s->raw) {
			s->escape = true;
			continue;
		}
		if (s->paused) {	/* the guest sees it once resumed */
			if (s->nheld < RX_SIZE)
				s->held[s->nheld++] = buf[i];
		} else {
			fifo_put(s, buf[i]);
		}
	}
	if (!s->paused)
		update_irq(vm, s);
	pthread_mutex_unlock(&s->lock);
	if (n > 0 && atomic_load(&vm->suspended))
		atomic_store(&vm->wake_request, true);	/* a key wakes a suspended PC */
}

static const struct vmm_device_ops serial_device;

/* The reader's commands on its wake pipe: stop reading while paused (the input waits in the
 * terminal), read again, end. */
enum { READER_PAUSE = 'p', READER_RESUME = 'r', READER_QUIT = 'q' };

/* Given its device, never looking it up: a VM whose set-up fails just after this thread starts
 * unregisters the device before destroying it, and a lookup then found nothing (a SIGSEGV at
 * in_fd's offset, seen once in the IOMMU host on a refused --device). */
static void *reader_thread(void *arg)
{
	struct vmm_serial *s = arg;
	struct vmm *vm = s->vm;
	struct pollfd p[2] = { { s->in_fd, POLLIN, 0 }, { s->wake[0], POLLIN, 0 } };
	uint8_t buf[256];

	vmm_sandbox_enter(vm, VMM_THREAD_IO);
	while (poll(p, 2, -1) >= 0 || errno == EINTR) {
		if (p[1].revents) {
			char cmd = READER_QUIT;
			if (read(s->wake[0], &cmd, 1) != 1 || cmd == READER_QUIT)
				break;
			p[0].fd = cmd == READER_PAUSE ? -1 : s->in_fd;	/* poll skips -1 */
			continue;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		ssize_t n = read(s->in_fd, buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0 && errno == EIO &&
			    s->pty_fd >= 0) { /* nobody attached to the pty yet */
				poll(NULL, 0, 100);
				continue;
			}
			break;	/* end of input: the guest just gets no more */
		}
		push_input(vm, s, buf, n);
	}
	return NULL;
}

static int open_pty(struct vmm_serial *s, char *err, size_t errlen)
{
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios t;

	if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 ||
	    ptsname_r(fd, s->pty_path, sizeof(s->pty_path))) {
		snprintf(err, errlen, "cannot open a pseudo-terminal for the console: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	if (tcgetattr(fd, &t) == 0) {	/* the guest does its own line discipline */
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->pty_fd = s->in_fd = s->out_fd = fd;
	return 0;
}

static void stdio_console(struct vmm_serial *s)
{
	struct termios t;

	s->out_fd = STDOUT_FILENO;
	s->filter = isatty(STDOUT_FILENO);
	s->in_fd = STDIN_FILENO;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &s->saved) == 0) {
		t = s->saved;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;	/* keep our own messages readable */
		s->raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
}

static void serial_destroy(struct vmm *vm, void *priv)
{
	struct vmm_serial *s = priv;

	(void)vm;
	if (s->reader_started) {
		if (write(s->wake[1], (char[]){ READER_QUIT }, 1) < 0) { /* it ends at EOF too */ }
		pthread_join(s->reader, NULL);
	}
	if (s->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &s->saved);
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	if (s->log_fd >= 0)
		close(s->log_fd);
	if (s->pty_fd >= 0)
		close(s->pty_fd);
	free(s);
}

/* Input that comes while paused (the control socket's) is held; the reader stops reading. */
static int serial_pause(struct vmm *vm, void *priv)
{
	struct vmm_serial *s = priv;

	(void)vm;
	pthread_mutex_lock(&s->lock);
	s->paused = true;
	pthread_mutex_unlock(&s->lock);
	if (s->reader_started && write(s->wake[1], (char[]){ READER_PAUSE }, 1) < 0) { /* held */ }
	return 0;
}

static void serial_resume(struct vmm *vm, void *priv)
{
	struct vmm_serial *s = priv;

	pthread_mutex_lock(&s->lock);
	s->paused = false;
	for (unsigned i = 0; i < s->nheld; i++)	/* its escapes were handled as it came */
		fifo_put(s, s->held[i]);
	s->nheld = 0;
	update_irq(vm, s);
	pthread_mutex_unlock(&s->lock);
	if (s->reader_started && write(s->wake[1], (char[]){ READER_RESUME }, 1) < 0) { /* */ }
}

static int serial_save(struct vmm *vm, void *priv, void **buf, size_t *len)
{
	struct vmm_serial *s = priv;

	(void)vm;
	return vmm_state_save(&s->lock, &s->u, sizeof(s->u), buf, len);
}

static bool uart_valid(const void *copy)
{
	const struct uart_state *u = copy;

	return u->rx_head < RX_SIZE && u->rx_tail < RX_SIZE && vmm_state_bool_ok(&u->thre_pending) &&
	       vmm_state_bool_ok(&u->irq);
}

static int serial_load(struct vmm *vm, void *priv, const void *buf, size_t len)
{
	struct vmm_serial *s = priv;

	(void)vm;
	return vmm_state_load(&s->lock, &s->u, sizeof(s->u), buf, len, uart_valid);
}

static const struct vmm_device_ops serial_device = {
	.kind = "serial",
	.destroy = serial_destroy,
	.pause = serial_pause,
	.resume = serial_resume,
	.save = serial_save,
	.load = serial_load,
};

int vmm_serial_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_serial *s = calloc(1, sizeof(*s));
	static const uint16_t sinks[] = { 0x2f8, 0x3e8, 0x2e8 };
	int rc;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = s->in_fd = s->log_fd = s->pty_fd = s->wake[0] = s->wake[1] = -1;
	if ((rc = vmm_device_add(vm, &serial_device, s)) < 0) {
		free(s);
		return rc;
	}
	/* O_NOFOLLOW: as root, a link planted at the path (in /tmp, say) must not truncate what it
	 * points to */
	if (vm->cfg.serial_log &&
	    (s->log_fd = open(vm->cfg.serial_log,
			      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		int e = errno;
		snprintf(err, errlen, "serial log %s: %s", vm->cfg.serial_log,
			 e == ELOOP ? "a symbolic link: give the file itself" : strerror(e));
		return -e;
	}
	if (vm->cfg.console == VMM_CONSOLE_PTY && (rc = open_pty(s, err, errlen)) < 0)
		return rc;
	if (vm->cfg.console == VMM_CONSOLE_STDIO)
		stdio_console(s);
	if ((rc = vmm_pio_register(vm, "serial", COM1, 8, serial_io, s)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
		vmm_pio_register(vm, "serial-sink", sinks[i], 8, sink_io, NULL);
	if (s->in_fd >= 0 && pipe2(s->wake, O_CLOEXEC) == 0 &&
	    pthread_create(&s->reader, NULL, reader_thread, s) == 0)
		s->reader_started = true;
	return 0;
}

size_t vmm_serial_history(struct vmm *vm, uint64_t from, char *buf, size_t len, uint64_t *next,
			  uint64_t *lost)
{
	struct vmm_serial *s = vmm_device_get(vm, &serial_device, 0);
	size_t n = 0;

	*next = from;
	*lost = 0;
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	uint64_t oldest = s->written > HISTORY ? s->written - HISTORY : 0;
	if (from < oldest) {
		*lost = oldest - from;
		from = oldest;
	}
	if (from >
	    s->written) /* a client ahead of us (another VM of the same name before): start over */
		from = oldest;
	for (; from < s->written && n < len; from++)
		buf[n++] = (char)s->history[from % HISTORY];
	*next = from;
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool vmm_serial_line_ended(struct vmm *vm)
{
	struct vmm_serial *s = vmm_device_get(vm, &serial_device, 0);
	bool ended;

	if (!s)
		return true;
	pthread_mutex_lock(&s->lock);
	ended = !s->written || s->history[(s->written - 1) % HISTORY] == '\n';
	pthread_mutex_unlock(&s->lock);
	return ended;
}

void vmm_serial_input(struct vmm *vm, const uint8_t *buf, size_t n)
{
	struct vmm_serial *s = vmm_device_get(vm, &serial_device, 0);

	if (s)
		push_input(vm, s, buf, (ssize_t)n);
}

const char *vmm_pty_path(const struct vmm *vm)
{
	struct vmm_serial *s = vmm_device_get(vm, &serial_device, 0);

	return s && s->pty_path[0] ? s->pty_path : NULL;
}
