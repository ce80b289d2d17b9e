# stall.sh: what a stalled Linux guest's vCPU was doing, for the test scripts (t-pause.sh, i-pass.sh): its
# RIP and stack (`nestvisor stats NAME --cpus`) in its kernel's symbols, and whether the emulated CPU took an
# interrupt with interrupts off. The guests run this host's kernel; each prints where KASLR put its text.
# Then the passthrough scripts' guest runners (i-pass.sh, p-group.sh), which look at a guest gone silent.

# A vCPU's RIP and the words on its stack (stats --cpus), one a line: "rip ADDR", then "N WORD".
words() { tr -d '\n' | sed -n 's/.*"rip":"\(0x[0-9a-f]*\)".*"stack":\[\([^]]*\)\].*/\1,\2/p' | tr -d '"' |
	tr ',' '\n' | awk 'NF { print (NR == 1 ? "rip" : NR - 2), $1 }'; }
# The words read at an address (stats --cpus --at ADDR) as "N WORD" lines.
words_at() { tr -d '\n' | sed -n 's/.*"at":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' '\n' |
	awk 'NF { print NR - 1, $1 }'; }
# The kernel addresses among those lines as "KEY ADDR symbol+offset": the guest runs this host's kernel,
# placed elsewhere by KASLR; GUEST_TEXT is where (its "NVG: text"). The low 32 bits suffice: the text lies
# in the top 2 GiB.
symbolize() {
	awk -v g="$1" '
	function hx(s,  i, n) {
		for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	BEGIN { gsub(/[^0-9a-f]/, "", g) }	# the serial log ends its lines with \r
	FNR == NR { if (NF == 3 && $2 ~ /^[tT]$/) { a[++n] = hx(substr($1, 9)); name[n] = $3
		if ($3 == "_text") base = a[n] }; next }
	g != "" && length($2) == 18 && substr($2, 1, 10) == "0xffffffff" {
		q = hx(substr($2, 11)) - hx(substr(g, 9)) + base; best = 0
		for (i = 1; i <= n; i++) if (a[i] <= q && (best == 0 || a[i] > a[best])) best = i
		if (best && q - a[best] < 65536) printf "%s %s %s+0x%x\n", $1, $2, name[best], q - a[best]
	}' /proc/kallsyms -
}
# An interrupt taken while the code it interrupted had interrupts off, which a real CPU never does: a
# device's or the timer's interrupt waits for RFLAGS.IF. The test host's CPU, QEMU 7.2's TCG, does: its
# VMRUN (target/i386/tcg/sysemu/svm_helper.c) delivers an injected interrupt and leaves exception_index
# set to its vector; at the vCPU thread's next exit request cpu_handle_interrupt keeps it, and
# cpu_handle_exception (accel/tcg/cpu-exec.c) delivers that vector again, over its own handler. Two stalls
# caught: handle_edge_irq over itself on the same irq_desc lock, the timer's tick over itself on the run
# queue's lock. The registers it interrupted (struct pt_regs) lie just above its entry's return address:
# IP 17 words up, CS 18, RFLAGS 19. Prints the evidence, if any.
if_off() {	# WORDS SYMBOLS
	awk '$3 ~ /^asm_(common_interrupt|sysvec_)/ { print $1, $3 }' "$2" | while read k entry; do
		cs=$(awk -v i=$((k + 18)) '$1 == i { print $2 }' "$1")
		fl=$(awk -v i=$((k + 19)) '$1 == i { print $2 }' "$1")
		[ "$cs" = 0x10 ] && [ -n "$fl" ] && [ $((fl & 0x200)) = 0 ] || continue
		at=$(awk -v i=$((k + 17)) '$1 == i { print $3 }' "$2")
		echo "${entry%%+*} entered over ${at:-kernel code} whose RFLAGS were $fl, IF clear"
		break
	done
}

# The stack an interrupt handler left: when the interrupted code was on a task's stack, Linux's entry
# (call_on_stack, arch/x86/include/asm/irq_stack.h) moves to the CPU's IRQ stack, storing the old stack
# pointer in its top word, just above the C handler's return address (common_interrupt+N,
# sysvec_...+N); the interrupted code's registers lie on the old stack. The address, when it was read.
switched_from() {	# WORDS SYMBOLS
	k=$(awk '$3 ~ /^(common_interrupt|sysvec_[a-z_0-9]*)\+/ { print $1 + 1 }' "$2" | tail -n 1)
	[ -n "$k" ] && ! awk -v i=$k '$1 == i { f = 1 } END { exit !f }' "$2" &&
		awk -v i=$k '$1 == i && length($2) == 18 && $2 ~ /^0xffff[0-9a-f]*[08]$/ { print $2 }' "$1"
}

# Where the guest's kernel text lies, from its log's first whole "NVG: text" line (a kernel message may
# break one: the guest prints it twice where it runs with loglevel=7).
guest_text() { tr -d '\r' < "$1" | grep -o 'NVG: text ffffffff[0-9a-f]\{8\}' | head -n 1 | cut -d' ' -f3; }

# A kernel stack pointer in no mapped page, the stack not read at all: a stack that overflowed into the
# guard page below it (an interrupt entered over itself again and again grows it until it does; the #PF
# then cannot be delivered, and the vCPU stays with it pending). Its bottom, the next page up, where the
# deepest frames are: the address to read.
overflowed() {	# CPUS WORDS
	rsp=$(sed -n 's/.*"rsp":"0x\(ffff[0-9a-f]*\)".*/\1/p' "$1" | head -n 1)
	[ ${#rsp} = 16 ] && [ "$(grep -vc '^rip ' "$2")" = 0 ] || return
	lo=${rsp#????????}
	printf '0x%s%08x\n' "${rsp%$lo}" $(((0x$lo & ~0xfff) + 0x1000))
}

# cpu_fault NAME LOG PREFIX: reads the VM's vCPUs (PREFIX.cpus), names its RIP and stack (PREFIX.symbols,
# from LOG's "NVG: text") and looks for the emulated CPU's fault (PREFIX.if-off); where the stack read is an
# IRQ stack, the one its handler switched from is read too (--at), and where the stack overflowed, its
# bottom; looked at the same way, its words named after the first ("from ADDR", then "@N ADDR symbol").
# Status 0 when found.
cpu_fault() {
	text=$(guest_text "$2")
	nestvisor stats "$1" --cpus > "$3.cpus" 2>&1
	words < "$3.cpus" > "$3.words"
	symbolize "$text" < "$3.words" > "$3.symbols"
	if_off "$3.words" "$3.symbols" > "$3.if-off"
	from=$(switched_from "$3.words" "$3.symbols")
	[ -s "$3.if-off" ] || [ -n "$from" ] || from=$(overflowed "$3.cpus" "$3.words")
	if [ ! -s "$3.if-off" ] && [ -n "$from" ]; then
		nestvisor stats "$1" --cpus --at "$from" > "$3.cpus-at" 2>&1
		words_at < "$3.cpus-at" > "$3.words-at"
		symbolize "$text" < "$3.words-at" > "$3.symbols-at"
		if_off "$3.words-at" "$3.symbols-at" > "$3.if-off"
		echo "from $from" >> "$3.symbols"
		sed 's/^/@/' "$3.symbols-at" >> "$3.symbols"
	fi
	test -s "$3.if-off"
}
# What a stalled guest's vCPU was in, in a line: its first symbols, or why it was not read.
cpu_where() {	# PREFIX
	if [ -s "$1.symbols" ]; then cut -d' ' -f3 "$1.symbols" | head -n 4 | tr '\n' ' '
	else echo "(not named: $(head -c 200 "$1.cpus" 2>/dev/null | tr -d '\n'))"; fi
}

# run NAME OPTIONS...: a passthrough guest (Debian's kernel, $G) doing what GUEST_ARGS tell guest-init, e.g.
# nv.pass, its options nestvisor's; its log in $out/NAME.log, the VM's status returned. A guest whose console
# stays silent 90 s is looked at (watch); stopped by the emulated CPU's fault, it runs again (again).
run() {
	name=$1
	shift
	attempt=1
	while :; do
		nestvisor run --console stdio --name "$name" --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
			--cmdline "console=ttyS0 panic=-1 quiet $GUEST_ARGS${intmode:+ nv.intmode=$intmode loglevel=7}" \
			--timeout 300 --stats \
			"$@" > $out/$name.raw 2>&1 < /dev/null &
		pid=$!
		watch $pid $name
		wait $pid
		st=$?
		again "$name" || break
	done
	tr -d '\r' < $out/$name.raw > $out/$name.log && rm -f $out/$name.raw
	return $st
}
# watch PID NAME: while the VM runs, a console that stays silent 90 s gets its vCPU read once; when the
# emulated CPU took an interrupt with interrupts off (stall.sh), the guest is stopped and $fault says so
watch() {
	fault= last= still=0
	while kill -0 $1 2>/dev/null; do
		sleep 5
		now=$(wc -c < $out/$2.raw)
		[ "$now" = "$last" ] && still=$((still + 5)) || still=0
		last=$now
		[ $still = 90 ] || continue
		cpu_fault $2 $out/$2.raw $out/$2-stalled
		echo "# ${0##*/}: $2 silent for 90 s; its vCPU in $(cpu_where $out/$2-stalled)"
		[ -s $out/$2-stalled.if-off ] || continue
		fault=$(cat $out/$2-stalled.if-off)
		nestvisor stop $2 > /dev/null 2>&1
	done
}
# again NAME: after the emulated CPU's fault, the guest runs again (3 attempts), said here and counted by
# run.sh; its symbols shown. Status 1 otherwise.
again() {
	[ -n "$fault" ] && [ $attempt -lt 3 ] || return 1
	echo "# emulator fault: $v, $1: its guest stalled, not by nestvisor's doing: the emulated CPU took an" \
		"interrupt with interrupts off ($fault); it runs again (attempt $((attempt + 1)) of 3)"
	sed 's/^/#   /' $out/$1-stalled.symbols
	attempt=$((attempt + 1))
	reruns=$((${reruns:-0} + 1))	# VMs run again, for what counts them (i-pass.sh's database check)
}
# linger_pid NAME OPTIONS...: run's guest with nv.linger, in the background ($pid) until it lingers (the
# console says so; 240 s at most), stalls looked at as run does
linger_pid() {
	name=$1
	shift
	attempt=1
	while :; do
		nestvisor run --console stdio --name $name --kernel $G/vmlinuz --initrd $G/initrd --mem 256M "$@" \
			--cmdline "console=ttyS0 panic=-1 quiet $GUEST_ARGS nv.linger" --timeout 300 < /dev/null \
			> $out/$name.raw 2>&1 &
		pid=$!
		i=0 fault=
		while [ $i -lt 240 ] && ! grep -q '^NVG: lingering' $out/$name.raw; do sleep 1; i=$((i + 1)); done
		grep -q '^NVG: lingering' $out/$name.raw || ! cpu_fault $name $out/$name.raw $out/$name-stalled ||
			fault=$(cat $out/$name-stalled.if-off)
		[ -n "$fault" ] && [ $attempt -lt 3 ] || break
		nestvisor stop $name > /dev/null 2>&1
		wait $pid
		again $name
	done
	# a guest that never got there (one stalled once, after its download): what its VMM saw, twice, 5 s apart,
	# before anything is killed
	if ! grep -q '^NVG: lingering' $out/$name.raw; then
		nestvisor stats $name > $out/$name-stalled-1.txt 2>&1
		sleep 5
		nestvisor stats $name > $out/$name-stalled-2.txt 2>&1
		echo "# ${0##*/}: $name stalled: no 'lingering' in 240 s; its last words and exits:"
		tail -n 5 $out/$name.raw | sed 's/^/#   /'
		diag $out/$name-stalled-2.txt 12
		sed 's/^/#   /' $out/$name-stalled.symbols 2>/dev/null
	fi
}
