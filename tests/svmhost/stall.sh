# stall.sh: what a stalled Linux guest's vCPU was doing, for the test scripts (t-pause.sh, i-pass.sh): its
# RIP and stack (`nestvisor stats NAME --cpus`) in its kernel's symbols, and whether the emulated CPU took an
# interrupt with interrupts off. The guests run this host's kernel; each prints where KASLR put its text.

# A vCPU's RIP and the words on its stack (stats --cpus), one a line: "rip ADDR", then "N WORD".
words() { tr -d '\n' | sed -n 's/.*"rip":"\(0x[0-9a-f]*\)".*"stack":\[\([^]]*\)\].*/\1,\2/p' | tr -d '"' |
	tr ',' '\n' | awk 'NF { print (NR == 1 ? "rip" : NR - 2), $1 }'; }
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

# cpu_fault NAME LOG PREFIX: reads the VM's vCPUs (PREFIX.cpus), names its RIP and stack (PREFIX.symbols,
# from LOG's "NVG: text") and looks for the emulated CPU's fault (PREFIX.if-off); status 0 when found.
cpu_fault() {
	nestvisor stats "$1" --cpus > "$3.cpus" 2>&1
	words < "$3.cpus" > "$3.words"
	symbolize "$(sed -n 's/^NVG: text //p' "$2" | head -n 1)" < "$3.words" > "$3.symbols"
	if_off "$3.words" "$3.symbols" > "$3.if-off"
	test -s "$3.if-off"
}
