/* test_run_guests: `nestvisor run` on the project's own guests, as a user runs it: serial output,
 * exit statuses, multiboot info, SMP, the PM timer's rate, fw_cfg, reset, console input, hostile
 * guests (ACPI's sleep states and power button: test_acpi_guests). */
#include "config.h"
#include <sys/socket.h>
#include <sys/un.h>
#include "tests/runvm.h"
#include "probe/probe.h"
#include "vmm/control.h"


static void test_run_serial_guest(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/hello.elf");
	expect(&r, 1, "Hello from a nestvisor guest!", NULL);	/* debug-exit 0 -> (0 << 1) | 1 */
	assert_non_null(
		strstr(r.out, "vCPUs (fw_cfg): 1, RAM: 128 MiB, ACPI PM timer at port 0x00000608"));
}

static void test_debug_exit_codes_propagate(void **state)
{
	static const struct { const char *arg; int status; } cases[] = {
		{ "exit=5", 11 }, { "exit=0", 1 }, { "exit=63", 127 }, { "exit=127", 255 },
	};
	struct run r;

	(void)state;
	skip_without_kvm();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RUN(&r, NULL, 20, "--kernel", "tests/guests/hello.elf", "--cmdline", cases[i].arg);
		expect(&r, cases[i].status, "Hello", NULL);
	}
}

static void test_multiboot_info_and_module(void **state)
{
	char env[256];
	struct run r;

	(void)state;
	skip_without_kvm();
	test_data_path(env, sizeof(env), "guest-env");
	RUN(&r, NULL, 20, "--kernel", "tests/guests/mbinfo.elf", "--initrd", env, "--cmdline",
	    "alpha beta");
	expect(&r, 1, "cmdline=tests/guests/mbinfo.elf alpha beta", NULL);
	assert_non_null(strstr(
		r.out, "mem_lower=639 mem_upper=130048")); /* 128 MiB: (128 - 1) * 1024 KiB */
	assert_non_null(strstr(r.out, "mods=1"));
	assert_non_null(strstr(r.out, "text=NESTVISOR_TEST_ENV=1"));
	assert_non_null(strstr(r.out, "mmap 0x00100000 0x07f00000 type=1"));
	assert_non_null(
		strstr(r.out, "mmap 0x000e0000 0x00020000 type=2")); /* the BIOS area is reserved */
}

static void test_every_cpu_starts(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 30, "--kernel", "tests/guests/smp.elf", "--cpus", "4");
	expect(&r, 9, "cpus up: 4 of 4", NULL);	/* exit code 4 */
	for (int i = 1; i < 4; i++) {
		char line[16];
		snprintf(line, sizeof(line), "cpu %d up", i);
		assert_non_null(strstr(r.out, line));
	}
	RUN(&r, NULL, 30, "--kernel", "tests/guests/smp.elf", "-smp", "2"); /* QEMU's spelling */
	expect(&r, 5, "cpus up: 2 of 2", NULL);
}

static void test_pm_timer_rate(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	/* 1,789,772 ticks at 3.579545 MHz are 500 ms of host time */
	RUN(&r, NULL, 20, "--kernel", "tests/guests/pmtimer.elf", "--cmdline", "ticks=1789772");
	expect(&r, 1, "pm-end", NULL);
	double ms = r.mark_ms[1] - r.mark_ms[0];
	if (ms < 450 || ms > 560)	/* 10%: a 3.0 MHz timer would take 596 ms */
		fail_msg("the guest saw 500 ms of PM timer in %.1f ms of host time", ms);
}

static void test_fw_cfg_answers(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/fwcfg.elf", "--cpus", "3", "--mem", "256M");
	expect(&r, 1, "fw_cfg signature=QEMU ram_mib=256 cpus=3 max_cpus=3", NULL);
}

static void test_reset_through_i8042(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/reset.elf");
	expect(&r, 0, "resetting", NULL);
	assert_null(strstr(r.out, "still here"));
}

static void test_console_input_echo(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, "nested!q", 20, "--kernel", "tests/guests/echo.elf");
	expect(&r, 15, "echo ready\nNESTED!\nbye", NULL);	/* 7 characters -> (7 << 1) | 1 */
}

static void test_hostile_guests(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/hostile.elf");
	expect(&r, 7, "wild ports read all-ones", "unclaimed port 0x100");
	RUN(&r, NULL, 20, "--kernel", "tests/guests/triple.elf");
	expect(&r, 128, "triple faulting", "the guest triple-faulted");
	assert_non_null(strstr(r.err, "RIP "));
	/* the code where it faulted; or, where KVM resets a vCPU that shut down (AMD-V), that said */
	if (strstr(r.err, "RIP 000000000000fff0") && strstr(r.err, "CS f000"))
		assert_non_null(strstr(r.err, "these are the vCPU's reset values"));
	else
		assert_non_null(strstr(r.err, "code at RIP:"));
	double t0 = now_ms();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/spin.elf", "--timeout", "1");
	expect(&r, 124, "spinning", "still running at its time limit, 1.0 s");
	assert_true(now_ms() - t0 < 5000);
	/* a hypercall livelocks inside KVM_RUN on a software KVM: the timeout must still end it */
	t0 = now_ms();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/vmcall.elf", "--timeout", "1");
	/* a livelock ended by the timeout (software KVM), the hypercall answered and the guest's
	 * own end (4: status 9), KVM refusing it (126), or its #UD unhandled by the guest (128):
	 * nothing else */
	assert_true(r.status == 124 || r.status == 9 || r.status == 126 || r.status == 128);
	assert_true(now_ms() - t0 < 5000);
	RUN(&r, NULL, 20, "--kernel", "tests/guests/badmb.elf");
	expect(&r, 2, NULL,
	       "tests/guests/badmb.elf: multiboot header asks for 0xe0000000-0xe0100000, outside "
	       "guest memory");
}

/* A multiboot guest linked at 16 KiB that drops to real mode and calls through a register: the
 * multiboot information must not land on its code (it did, at 0x9000: "in fn" never printed, or KVM
 * met garbage). */
static void test_low_multiboot_guest_in_real_mode(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/realmode.elf");
	expect(&r, 1, "real mode: in fn", NULL);
	assert_non_null(strstr(r.out, "real mode: near call through a register returned"));
}

static void test_bad_kernels_named(void **state)
{
	char junk[256];
	struct run r;

	(void)state;
	skip_without_kvm();
	test_data_path(junk, sizeof(junk), "guest-env");
	RUN(&r, NULL, 20, "--kernel", junk);
	expect(&r, 2, NULL, "not a kernel nestvisor can boot");
	RUN(&r, NULL, 20, "--kernel", "/nonexistent/vmlinuz");
	expect(&r, 2, NULL, "/nonexistent/vmlinuz: /nonexistent: No such file or directory");
	RUN(&r, NULL, 20, "--kernel", "tests/guests/hello.elf", "--mem", "lots");
	expect(&r, 2, NULL, "--mem lots");
}

static void test_flat_binary(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/hello.bin", "--load-addr", "0x100000",
	    "--entry", "0x100010");
	expect(&r, 1, "Hello from a nestvisor guest!", NULL);
}

static void test_exit_statistics(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 30, "--kernel", "tests/guests/portloop.elf", "--cmdline", "count=5000",
	    "--stats");
	expect(&r, 1, NULL, "0x0080 post                          5000");
	assert_non_null(strstr(r.err, "0x00f4 debug-exit                       1"));
	assert_non_null(strstr(r.err, "exits: 5001 in"));
}

/* A detached VM through its control socket: ps, stats, pause/resume, stop; then kill -9 and a stale
 * socket. */
static void test_control_socket(void **state)
{
	char dir[256], sock[300];
	struct run r;

	(void)state;
	start_detached(&r, dir, sizeof(dir), "tests/guests/spin.elf", "ctl-test");
	int pid = atoi(strstr(r.out, "(pid ") + 5);
	NV(&r, "ps");
	expect(&r, 0, "ctl-test", NULL);
	assert_non_null(strstr(r.out, "running"));
	assert_non_null(strstr(r.out, "/dev/pts/"));
	NV(&r, "stats", "ctl-test");
	expect(&r, 0, "0x03f8 serial", NULL);
	snprintf(sock, sizeof(sock), "%s/nestvisor/ctl-test.sock", dir);
	char *reply = vmm_control_request(sock, "pause", 2000);
	assert_non_null(reply);
	assert_string_equal(reply, "{\"ok\":true}");
	free(reply);
	NV(&r, "ps");
	expect(&r, 0, "paused", NULL);
	free(vmm_control_request(sock, "resume", 2000));
	reply = vmm_control_request(sock, "bogus", 2000);
	assert_non_null(strstr(reply, "unknown command"));
	free(reply);
	/* clients that leave before their answer (a TUI quitting mid-refresh): the VMM must not die
	 * of SIGPIPE */
	for (int i = 0; i < 5; i++) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%.100s", sock);
		assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(write(fd, "{\"cmd\":\"stats\"}\n", 16), 16);
		close(fd);
	}
	usleep(200000);
	assert_int_equal(kill(pid, 0), 0);
	/* the serial console through the socket: its history (spin prints a line) and input */
	reply = vmm_control_call(sock, "{\"cmd\":\"console\",\"from\":0}", 2000);
	assert_non_null(reply);
	assert_non_null(
		strstr(reply, "\"data\":\"spinning\\n\"")); /* printed before anyone asked */
	assert_non_null(strstr(reply, "\"next\":9"));
	assert_non_null(strstr(reply, "\"lost\":0"));
	free(reply);
	reply = vmm_control_call(sock, "{\"cmd\":\"input\",\"data\":\"x\"}", 2000);
	assert_string_equal(reply, "{\"ok\":true}");
	free(reply);
	reply = vmm_control_call(sock, "{\"cmd\":\"input\"}", 2000);
	assert_non_null(strstr(reply, "\"ok\":false"));
	free(reply);
	NV(&r, "stop", "ctl-test");
	expect(&r, 0, "VM ctl-test stopped", NULL);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(20000);
	assert_int_equal(kill(pid, 0), -1);	/* the VMM process is gone */
	assert_int_equal(access(sock, F_OK), -1);	/* and took its socket with it */
	/* a VMM killed outright leaves its socket behind: ps removes it, and the name is free again
	 */
	NV(&r, "run", "--kernel", "tests/guests/spin.elf", "--name", "ctl-test", "--detach");
	pid = atoi(strstr(r.out, "(pid ") + 5);
	kill(pid, SIGKILL);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(20000);
	assert_int_equal(access(sock, F_OK), 0);
	NV(&r, "ps");
	expect(&r, 0, "no VMs running", "removed 1 stale socket");
	assert_int_equal(access(sock, F_OK), -1);
	NV(&r, "stats", "ctl-test");
	expect(&r, 1, NULL, "no VM named ctl-test is running");
	unsetenv("XDG_RUNTIME_DIR");
	test_sh("rm -rf '%s'", dir);
}

/* nestvisor console NAME: a detached VM's console history, then live, what is typed going to the
 * guest. */
static void test_console_command(void **state)
{
	char dir[256];
	struct run r;

	(void)state;
	start_detached(&r, dir, sizeof(dir), "tests/guests/echo.elf", "con-test");
	run_vm(&r, "abcq", 20, (const char *const[]){ "nestvisor", "console", "con-test", NULL });
	expect(&r, 0, "echo ready\nABC\nbye", "VM con-test has ended");
	NV(&r, "console", "con-test");
	expect(&r, 1, NULL, "no VM named con-test is running");
	test_sh("rm -rf '%s'", dir);
	unsetenv("XDG_RUNTIME_DIR");
}

/* A guest that is itself a hypervisor (tests/guests/svm.c). Where the probe says this host allows
 * nesting on AMD-V, --nested auto and on give it SVM and its L3 runs to the HLT that ends it;
 * elsewhere it sees no SVM and
 * --nested on is refused before the VM starts, with the probe's own reason. --nested off hides SVM
 * everywhere. */
static void test_guest_hypervisor(void **state)
{
	struct probe_nested n;
	struct run r;
	char err[256] = "";

	(void)state;
	skip_without_kvm();
	assert_int_equal(probe_nested_query(NULL, &n, err, sizeof(err)), 0);
	bool svm = n.possible && n.svm;
	print_message("# nested here: %s (%s)\n", n.possible ? "yes" : "no", n.why);
	RUN(&r, NULL, 120, "--kernel", "tests/guests/svm.elf");
	if (svm)
		expect(&r, 1, "svm: L3 ran to its HLT under this guest's own hypervisor", NULL);
	else
		expect(&r, 5, "svm: no SVM in CPUID", NULL);	/* debug-exit 2 */
	RUN(&r, NULL, 120, "--kernel", "tests/guests/svm.elf", "--nested", "off", "--stats");
	expect(&r, 5, "svm: no SVM in CPUID", "nested: off");
	RUN(&r, NULL, 120, "--kernel", "tests/guests/svm.elf", "--nested", "on", "--stats",
	    "--cmdline", "loops=3000");
	if (n.possible) {
		expect(&r, svm ? 1 : 5, svm ? "svm: L3 made 3000 VMMCALL exits, then exit code 0x00000078 (HLT)" : NULL,
		       "nested: on");
	} else {
		expect(&r, 2, NULL,
		       "nested guests were asked for (on), but this host cannot give guests a "
		       "hypervisor of their own");
		assert_non_null(strstr(r.err, n.why));
	}
}

/* A hostile virtio driver: a descriptor loop, a ring and a buffer outside guest RAM. The device
 * says NEEDS_RESET each time (the VMM says why, once), serves a proper request after each reset,
 * and the VM goes on. */
static void test_hostile_virtio_driver(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 120, "--kernel", "tests/guests/virtio-hostile.elf", "--rng");
	expect(&r, 1,
	       "virtio-hostile: 3 hostile queues refused; the device served a proper request after "
	       "each reset",
	       "virtio-rng: queue 0: a chain longer than the queue (a loop); the device needs a "
	       "reset");
	assert_non_null(strstr(
		r.err, "a ring lies outside guest RAM")); /* at queue enable: its own message */
	assert_non_null(strstr(r.out,
			       "the PCI_CFG window reads and writes BAR0; bad accesses read as "
			       "nothing"));
	RUN(&r, NULL, 60, "--kernel", "tests/guests/virtio-hostile.elf");
	expect(&r, 5, "no virtio-rng device", NULL);
}

/* --net: a VM with user networking starts (libslirp loaded only then); bad specs and a missing
 * libslirp are refused before the VM starts, saying what to do. (The network itself is tested in
 * tests/svmhost/t-net.sh.) */
static void test_net_options(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "user,hostfwd=tcp:0-:22");
	expect(&r, 2, NULL, "is not hostfwd=tcp|udp:[ADDR]:HOSTPORT-:GUESTPORT");
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "bridge=br0");
	expect(&r, 2, NULL, "not a kind of network there is; give user");
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "tap=../x");
	expect(&r, 2, NULL, "a tap's name is 1 to 15 letters");
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "tap=nvtest0,vhost=maybe");
	expect(&r, 2, NULL, "'vhost=maybe' is not vhost=auto|on|off or owner=any");
	setenv("NESTVISOR_LIBSLIRP", "/nonexistent/libslirp.so.0", 1);
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "user");
	unsetenv("NESTVISOR_LIBSLIRP");
	expect(&r, 2, NULL, "apt-get install libslirp0");
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "user", "--stats");
	expect(&r, 1, "Hello from a nestvisor guest!", "virtio-net");
}

/* --net tap: the tap is made for the VM and gone after it; vhost=on refused where there is no
 * vhost-net; as another user than root, the refusal says how root makes a tap theirs. (Frames:
 * tests/svmhost/t-net.sh.) */
static void test_net_tap(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		print_message("# SKIP: no /dev/net/tun here (modprobe tun): no tap can be made\n");
		skip();
	}
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "tap=nvtest0", "--stats");
	if (geteuid() != 0) {
		expect(&r, 2, NULL, "ip tuntap add mode tap user $USER name nvtest0");
		return;
	}
	expect(&r, 1, "Hello from a nestvisor guest!", "virtio-net ");
	assert_int_equal(access("/sys/class/net/nvtest0", F_OK),
			 -1); /* made for the VM, gone with it */
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--net", "tap=nvtest0,vhost=on");
	if (access("/dev/vhost-net", R_OK | W_OK) < 0)
		expect(&r, 2, NULL, "vhost=on: /dev/vhost-net: ");
	else
		expect(&r, 1, "Hello from a nestvisor guest!", NULL);
}

/* --disk's options: refused with what it takes; the I/O path each aio= chooses, as --stats names
 * it. */
static void test_disk_options(void **state)
{
	char img[] = "/tmp/nv-disk-XXXXXX", spec[64];
	struct run r;
	int fd;

	(void)state;
	skip_without_kvm();
	assert_true((fd = mkstemp(img)) >= 0);
	assert_int_equal(ftruncate(fd, 1000), 0);	/* not whole sectors */
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--disk", img);
	expect(&r, 2, NULL, "is not a whole number of 512-byte sectors");
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "%s,aio=bogus", img);
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--disk", spec);
	expect(&r, 2, NULL, "aio=io_uring|sync");
	snprintf(spec, sizeof(spec), "%s,aio=io_uring", img);
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--disk", spec, "--stats");
	expect(&r, 1, "Hello from a nestvisor guest!", "virtio-blk vda io_uring");
	RUN(&r, NULL, 60, "--kernel", "tests/guests/hello.elf", "--disk", img,
	    "--stats"); /* page cache: preadv */
	expect(&r, 1, "Hello from a nestvisor guest!", "virtio-blk vda ");
	assert_null(strstr(r.err, "vda io_uring"));
	unlink(img);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_control_socket),
	cmocka_unit_test(test_run_serial_guest),
	cmocka_unit_test(test_debug_exit_codes_propagate),
	cmocka_unit_test(test_multiboot_info_and_module),
	cmocka_unit_test(test_every_cpu_starts),
	cmocka_unit_test(test_pm_timer_rate),
	cmocka_unit_test(test_fw_cfg_answers),
	cmocka_unit_test(test_reset_through_i8042),
	cmocka_unit_test(test_console_input_echo),
	cmocka_unit_test(test_console_command),
	cmocka_unit_test(test_hostile_guests),
	cmocka_unit_test(test_low_multiboot_guest_in_real_mode),
	cmocka_unit_test(test_guest_hypervisor),
	cmocka_unit_test(test_hostile_virtio_driver),
	cmocka_unit_test(test_net_options),
	cmocka_unit_test(test_net_tap),
	cmocka_unit_test(test_disk_options),
	cmocka_unit_test(test_bad_kernels_named),
	cmocka_unit_test(test_flat_binary),
	cmocka_unit_test(test_exit_statistics),
};
TEST_MAIN(tests)
