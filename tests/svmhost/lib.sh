# lib.sh: the AMD-V test host's pieces, sourced by run.sh and the benches: fetch and cache Debian's kernel and
# busybox, build initramfs images, boot the host under QEMU's TCG (which emulates AMD-V with nested paging).
# Everything fetched lives in $SVM_CACHE (outside the source tree), keyed by package version.

SVM_CACHE=${NV_SVMHOST_CACHE:-${HOME:-/root}/.cache/nestvisor/svmhost}
SVM_SKIP=77
# The host's CPU: qemu64 with AMD-V and nested paging (what TCG emulates), as family 0x17 (Zen), the family of the
# AMD hosts our users run; family 0xf (qemu64's own) makes every guest kernel scan all 256 PCI buses twice for a
# K8 GART aperture (arch/x86/kernel/aperture_64.c), 16,000 exits per boot that no real host of theirs has.
SVM_CPU=${SVMHOST_CPU:-qemu64,+svm,+npt,family=23,model=1,stepping=2}

svm_log() { printf 'svmhost: %s\n' "$*" >&2; }

# The versioned kernel package linux-image-amd64 depends on (apt's lists are refreshed once if empty).
svm_kernel_pkg() {
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	[ -n "$pkg" ] && echo "$pkg"
}

# Downloads and unpacks a Debian package into $SVM_CACHE/NAME (once); prints that directory.
svm_fetch_deb() {
	name=$1
	dir=$SVM_CACHE/$name
	if [ ! -f "$dir/.unpacked" ]; then
		rm -rf "$dir" && mkdir -p "$dir/deb" || return 1
		# stale package lists may name a version the mirror no longer has: refresh them once
		(cd "$dir/deb" && { apt-get download "$name" >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && apt-get download "$name" >/dev/null 2>&1; }; }) ||
			{ rm -rf "$dir"; return 1; }
		dpkg-deb -x "$dir"/deb/*.deb "$dir/root" || { rm -rf "$dir"; return 1; }
		rm -rf "$dir/deb"
		touch "$dir/.unpacked"
	fi
	echo "$dir"
}

# The uncompressed vmlinux inside a bzImage (Debian's are xz): the ELF that the PVH path boots.
svm_extract_vmlinux() {
	bz=$1 out=$2
	[ -s "$out" ] && return 0
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || return 1
	tail -c +$((off + 1)) "$bz" | xz -dc --single-stream > "$out.tmp" 2>/dev/null
	head -c 4 "$out.tmp" | grep -q ELF && mv "$out.tmp" "$out"
}

# Sets SVM_KDIR (the unpacked kernel package), SVM_KVER, SVM_VMLINUZ, SVM_VMLINUX, SVM_BUSYBOX; returns 77 with
# the reason on stderr when a package cannot be had.
svm_fetch() {
	pkg=$(svm_kernel_pkg) || { svm_log "SKIP: apt knows no linux-image-amd64 (no package lists?)"; return $SVM_SKIP; }
	SVM_KDIR=$(svm_fetch_deb "$pkg") || { svm_log "SKIP: could not download the kernel package $pkg"; return $SVM_SKIP; }
	for old in "$SVM_CACHE"/linux-image-*; do	# an older kernel's 300 MB, once a newer one is here
		[ "$old" = "$SVM_KDIR" ] || rm -rf "$old"
	done
	SVM_KVER=${pkg#linux-image-}
	SVM_VMLINUZ=$SVM_KDIR/root/boot/vmlinuz-$SVM_KVER
	SVM_VMLINUX=$SVM_KDIR/vmlinux
	svm_extract_vmlinux "$SVM_VMLINUZ" "$SVM_VMLINUX" || { svm_log "could not extract vmlinux from $SVM_VMLINUZ"; return 1; }
	bbdir=$(svm_fetch_deb busybox-static) || { svm_log "SKIP: could not download busybox-static"; return $SVM_SKIP; }
	SVM_BUSYBOX=$bbdir/root/bin/busybox
	[ -x "$SVM_BUSYBOX" ] || { svm_log "busybox-static has no bin/busybox"; return 1; }
}

svm_module() {	# path of a module of the fetched kernel, by its path under kernel/
	echo "$SVM_KDIR/root/lib/modules/$SVM_KVER/kernel/$1"
}

# Copies programs into the staging tree $1 at their own paths, with every shared library ldd names.
svm_add_binary() {
	root=$1
	shift
	for bin in "$@"; do
		mkdir -p "$root$(dirname "$bin")" && cp -L "$bin" "$root$bin" && svm_add_libs "$root" "$bin" || return 1
	done
}

# The shared libraries a program needs, at their own paths in the staging tree $1.
svm_add_libs() {
	for lib in $(ldd "$2" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		[ -e "$1$lib" ] && continue
		mkdir -p "$1$(dirname "$lib")" && cp -L "$lib" "$1$lib" || return 1
	done
}

# nestvisor at /nv/nestvisor (and on PATH) in the staging tree $1: never under /tmp, which the inits mount over.
svm_add_nestvisor() {
	mkdir -p "$1/nv" "$1/bin" && cp "$B/nestvisor" "$1/nv/nestvisor" && ln -sf /nv/nestvisor "$1/bin/nestvisor" &&
		svm_add_libs "$1" "$B/nestvisor" || return 1
	# what nestvisor loads itself when asked (--net user): libslirp and the GLib it needs
	slirp=$(ldconfig -p 2>/dev/null | awk '/libslirp\.so\.0 / { print $NF; exit }')
	[ -z "$slirp" ] || { mkdir -p "$1$(dirname "$slirp")" && cp -L "$slirp" "$1$slirp" && svm_add_libs "$1" "$slirp"; }
}

# A staging tree with busybox at /bin and the usual mount points.
svm_stage_busybox() {
	root=$1
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/run" "$root/etc" || return 1
	cp "$SVM_BUSYBOX" "$root/bin/busybox"
	ln -sf busybox "$root/bin/sh"
}

# Packs a staging tree into an uncompressed newc cpio (uncompressed: the kernel unpacks it at TCG speed).
svm_pack() {
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$2"
}

# Where a frozen host's CPUs are, from QEMU's monitor (the socket MON): its CPUs, registers and local APICs, then
# a line per CPU: halted or not, interrupts on or off, and where: the kernel function among those host-init named
# at boot (with their KASLR addresses), or RIP as the kernel's link-time address (look it up in linux-image-*-dbg's
# System.map; Debian's own is a stub).
svm_frozen_where() {	# MON CONSOLE_LOG
	syms=$(grep -a -o 'svmhost: kernel _text .*' "$2" | tail -n 1 | cut -d' ' -f3-)
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "no monitor at $ARGV[0]: $!\n";
		for my $c ("info cpus", "info registers -a", "info lapic") { print $s "$c\n"; select(undef, undef, undef, 1) }
		$s->blocking(0);
		my ($buf, $all) = ("", "");
		while (sysread($s, $buf, 65536)) { $all .= $buf }
		$all =~ s/\e\[[0-9;]*[A-Za-z]//g; $all =~ s/\r//g;
		print $all;
		# the kernel lives in the top 2 GiB: its addresses differ only in their low 32 bits
		my %sym = split(" ", $ARGV[1] // "");
		my $low = sub { hex(substr($_[0], -8)) };
		my $delta = $sym{_text} ? $low->($sym{_text}) - 0x81000000 : 0;
		my $cpu = 0;
		while ($all =~ /RIP=([0-9a-f]{16}) RFL=([0-9a-f]+) .*?CPL=(\d) .*?HLT=(\d)/g) {
			my ($rip, $fl, $cpl, $hlt) = ($1, hex($2), $3, $4);
			my $where = $rip;
			if ($rip =~ /^ffffffff/) {
				my ($best, $off) = ("", 0x400);	# a named function holds RIP within its first KiB
				for my $n (keys %sym) {
					next if $n eq "_text";
					my $d = $low->($rip) - $low->($sym{$n});
					($best, $off) = ($n, $d) if $d >= 0 && $d < $off;
				}
				$where = $best ? sprintf("%s+0x%x", $best, $off) :
					sprintf("ffffffff%08x (link address)", $low->($rip) - $delta);
			}
			printf "svmhost: frozen: CPU %d %s, interrupts %s, CPL %d, at %s%s\n", $cpu++,
				$hlt ? "halted" : "running", $fl & 0x200 ? "on" : "off", $cpl, $where,
				$where =~ /^exc_int3/ ? " (an int3 storm: likely one the kernel had already patched away, " .
				"run again from a stale translation the emulator kept of that code)" : "";
		}' "$1" "$syms"
}

# Boots the host: svm_boot INITRD CONSOLE_LOG RESULTS FILES LIMIT_S [CPUS]. ttyS0 is the console, ttyS1 the
# TAP stream, ttyS2 the files the tests send back (base64 tar), ttyS3 the host's heartbeat. Returns QEMU's status,
# 124 at the limit, or 125 when the heartbeat stopped for a minute: the emulated host froze (QEMU's TCG has done so
# now and then after many nested guests), which says nothing about the tests.
svm_boot() {
	initrd=$1 console=$2 results=$3 files=$4 limit=$5 cpus=${6:-2}
	beat=$files.beat
	: > "$console"; : > "$results"; : > "$files"; : > "$beat"
	timeout --foreground -k 5 "$limit" qemu-system-x86_64 \
		-accel "tcg,thread=${SVMHOST_TCG_THREAD:-multi}${SVMHOST_TB_SIZE:+,tb-size=$SVMHOST_TB_SIZE}" -cpu "$SVM_CPU" \
		-smp "$cpus" -m 2048 -nographic -no-reboot -nodefaults -display none ${SVM_MACHINE:-} \
		-monitor "unix:$files.mon,server=on,wait=off" \
		-kernel "$SVM_VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 oops=panic nv.cpus=$cpus ${SVM_KOPTS:-} ${SVMHOST_APPEND:-}" \
		-serial "file:$console" -serial "file:$results" -serial "file:$files" -serial "file:$beat" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 2>>"$console" < /dev/null &
	qpid=$!
	last=0 still=0
	while kill -0 $qpid 2>/dev/null; do
		sleep 5
		size=$(wc -c < "$beat")
		if [ "$size" = "$last" ]; then still=$((still + 5)); else still=0; last=$size; fi
		if [ $still -ge 60 ] && [ "$size" -gt 0 ]; then
			svm_frozen_where "$files.mon" "$console" > "$console.frozen" 2>&1
			pkill -P $qpid 2>/dev/null; kill $qpid 2>/dev/null
			wait $qpid 2>/dev/null
			return 125
		fi
	done
	wait $qpid
}
