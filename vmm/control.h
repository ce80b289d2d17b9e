/* control: the VM's control socket ($XDG_RUNTIME_DIR/nestvisor/NAME.sock), one JSON object per
 * line. */
#ifndef NESTVISOR_VMM_CONTROL_H
#define NESTVISOR_VMM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm;

/* Where sockets live: $XDG_RUNTIME_DIR/nestvisor, /run/nestvisor as root, else /tmp/nestvisor-UID.
 */
/* The runtime directory (made 0700, or refused with err when it is not ours alone). */
int vmm_control_dir(char *buf, size_t len, char *err, size_t errlen);
#define VMM_NAME_MAX 32
/* A VM name: [A-Za-z0-9._-], 1 to VMM_NAME_MAX, not starting with '.' or '-'; -EINVAL with err
 * otherwise. */
int vmm_control_name_check(const char *name, char *err, size_t errlen);
int vmm_control_path(const char *name, char *buf, size_t len);
/* rundir.c, for both sides: a socket of ours nobody answers on (left by a killed VMM) removed;
 * a connection to a socket (its fd, or -errno). */
bool vmm_control_remove_stale(const char *path);
int vmm_control_connect(const char *path);

/* Server: binds NAME.sock (removing a stale one left by a killed VMM) and answers in a thread. */
int vmm_control_start(struct vmm *vm, const char *name, char *err, size_t errlen);
void vmm_control_stop(struct vmm *vm);

/* A VM's status as its control socket gives it (docs/control-socket.md), every string cleaned of
 * what a terminal would act on; "-" where a member is missing. */
struct vmm_status {
	char name[VMM_NAME_MAX + 1], state[16], console[64], kernel[256], boot[48], net[128],
		net_backend[160];
	char devices[72];	/* passed-through devices, "00:02.0,01:00.0" (at most 4), or "-" */
	int pid, cpus, nested_state_bytes, ndisks;
	uint64_t mem, uptime_ns;
	bool nested, rng, sandbox;
};
int vmm_status_from_json(const char *text, struct vmm_status *st);

/* The typed client, by VM name (keys and parsing in vmm/ alone): 0, or -errno (-ENOENT: no such VM
 * runs, -ECONNREFUSED: its socket is stale). */
struct vmm_stats;
int vmm_control_status(const char *name, struct vmm_status *st);
int vmm_control_stats(const char *name, struct vmm_stats *s);
/* "pause", "resume" or "stop" */
int vmm_control_command(const char *name, const char *cmd);
/* A command whose reply may refuse it (pause, resume, digest, cpus, powerdown; a name, or a whole
 * request line when it starts with '{'): 0 with *reply (malloc'd, the caller's), -ENOENT when no
 * such VM runs, -EAGAIN with the VM's reason in err, -EIO. */
int vmm_control_ask(const char *name, const char *cmd, char **reply, char *err, size_t errlen);

/* Every running VM: fn(its status, its statistics, ctx) for each socket that answers; sockets left
 * by killed VMMs are removed (counted in *stale). */
typedef void (*vmm_control_each_fn)(const struct vmm_status *st, const struct vmm_stats *stats,
				    void *ctx);
int vmm_control_list(vmm_control_each_fn fn, void *ctx, int *stale);

/* VMs run in the background leave a record when they end (vmm/ended.c), kept until dismissed (and
 * the newest 32 at most): how they ended, their exit status, the last of their console. */
#define VMM_ENDED_CONSOLE 4096
struct vmm_ended {
	char name[VMM_NAME_MAX + 1], ended[32], how[32], kernel[256], report[1024];
	char console[VMM_ENDED_CONSOLE];	/* printable: cleaned as it is read */
	int pid, status;
};
struct vmm;
int vmm_ended_write(struct vmm *vm, const char *name, int status);
/* DIR/NAME+suffix in the VMs' runtime directory, for a valid name: 0 or -errno. */
int vmm_control_file(const char *name, const char *suffix, char *buf, size_t len);
/* Up to max records, the newest first: how many, or -errno. */
int vmm_ended_list(struct vmm_ended *out, int max);
int vmm_ended_dismiss(const char *name);

/* Client: sends {"cmd": CMD} and returns the reply line (malloc'd), or NULL with errno set
 * (ECONNREFUSED: a stale socket, which the caller may remove). */
char *vmm_control_request(const char *path, const char *cmd, int timeout_ms);
/* The same with a whole request (one JSON object, no newline); the reply malloc'd, or NULL with
 * errno. */
char *vmm_control_call(const char *path, const char *request, int timeout_ms);
/* The serial console, as clients (the TUI, `nestvisor console`) use it: up to len bytes of its
 * output from byte *from on (advanced past them; *lost, when given, grows by what was no longer
 * kept); 0 when there is nothing new, -errno when the VM is gone (-ENOTSUP: it serves no console).
 */
long vmm_control_console_read(const char *path, uint64_t *from, uint64_t *lost, char *buf,
			      size_t len);
/* Bytes typed on its console; 0 or -errno. */
int vmm_control_console_write(const char *path, const char *data, size_t n);

#endif
