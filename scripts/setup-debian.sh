#!/bin/sh
# setup-debian: installs what nestvisor needs on Debian 12, builds it, and with --test runs every test suite.
#   scripts/setup-debian.sh          install, configure, build (./nestvisor and the test guests)
#   scripts/setup-debian.sh --demo   the same, then the main job: `nestvisor probe`, then the demo guest
#   scripts/setup-debian.sh --test   the same set-up, then make check, make check-svmhost (the AMD-V test host),
#                                    make distcheck, and the ASan/UBSan build's make check
set -eu
cd "$(dirname "$0")/.."

BUILD_DEPS="build-essential autoconf automake libtool pkg-config libcpuid-dev libpci-dev pci.ids libjson-c-dev linux-libc-dev
	libsqlite3-dev libcrypt-dev libpq-dev libncurses-dev libjemalloc-dev liblzma-dev zlib1g-dev libslirp-dev liburing-dev
	nettle-dev libseccomp-dev libcap-ng-dev libext2fs-dev comerr-dev libblkid-dev libisofs-dev"
TEST_DEPS="libcmocka-dev pciutils postgresql sqlite3 procps tmux qemu-system-x86 qemu-utils cpio xz-utils e2fsprogs iproute2
	fdisk openssh-client mmdebstrap"

missing=""
for p in $BUILD_DEPS $TEST_DEPS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ -x configure ] && [ configure -nt configure.ac ] && [ configure -nt Makefile.am ] || autoreconf -fi
[ -f Makefile ] && [ Makefile -nt Makefile.am ] || ./configure -q
make -s -j"$jobs"
make -s guests

if [ "${1:-}" = "--demo" ]; then
	# The probe's status is its answer about this host (1: a check FAILed), not whether the job worked.
	probe=0
	./nestvisor probe || probe=$?
	[ $probe -le 1 ] || { echo "setup: the probe itself could not run (exit status $probe)"; exit 1; }
	echo
	echo "== the demo guest: nestvisor run --kernel tests/guests/hello.elf --stats"
	status=0
	if [ -c /dev/kvm ]; then
		./nestvisor run --kernel tests/guests/hello.elf --stats || status=$?
	else
		# No KVM on this host (the probe above says why): the same guest runs where there is one, in the
		# AMD-V KVM host that QEMU's TCG emulates (tests/svmhost), as `make check-svmhost` uses it.
		echo "setup: this host has no /dev/kvm; the demo guest runs inside an emulated AMD-V KVM host instead" \
			"(tests/svmhost, about a minute)"
		out=$(tests/svmhost/run.sh --cmd 'nestvisor run --kernel /nv/tests/guests/hello.elf --stats 2>&1;
			echo "demo: nestvisor run exit status $?"' 2>/dev/null)
		printf '%s\n' "$out" | grep -v "^demo: "
		status=$(printf '%s\n' "$out" | sed -n 's/^demo: nestvisor run exit status \([0-9]*\)$/\1/p')
		status=${status:-255}
	fi
	# QEMU's isa-debug-exit convention: a guest writing 0 ends with status 1, its way of saying success
	if [ $status = 1 ]; then
		echo "setup: the demo guest ran and said success (nestvisor run's exit status 1: debug-exit 0)"
		exit 0
	fi
	echo "setup: the demo guest did not succeed (exit status $status)"
	exit 1
fi

if [ "${1:-}" = "--test" ]; then
	make -j"$jobs" check || { grep -hE "^(not ok|ERROR|# )" tests/*.log 2>/dev/null | head -40; exit 1; }
	echo "setup: make check passed; now make check-svmhost (Linux and our guests on a real AMD-V KVM host)"
	make check-svmhost || { grep -hE "^(not ok|Bail|#)" tests/svmhost.log 2>/dev/null | head -60; exit 1; }
	echo "setup: make check-svmhost passed; now make distcheck"
	make -s -j"$jobs" distcheck
	# The ASan/UBSan build, from the tarball distcheck just verified (this tree is configured in place,
	# and automake builds no second configuration beside that).
	echo "setup: distcheck passed; now make check in the ASan/UBSan build"
	rm -rf build-sanitizers && mkdir build-sanitizers
	tar xzf "nestvisor-$(sed -n 's/^PACKAGE_VERSION = //p' Makefile).tar.gz" -C build-sanitizers --strip-components=1
	(cd build-sanitizers && ./configure -q --enable-sanitizers && make -s -j"$jobs" &&
	 ASAN_OPTIONS=detect_leaks=1 make -j"$jobs" check) ||
		{ grep -hE "^(not ok|ERROR|SUMMARY)" build-sanitizers/tests/*.log | head -40; exit 1; }
	echo "setup: all test suites passed"
fi
