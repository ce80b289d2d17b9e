# b-crash.sh HOW WHAT FIRST LAST [SIZE]: not a test; bench/svmhost-crash.sh runs it to count how often a guest
# dies before its end. Runs FIRST..LAST of one configuration inside the AMD-V host, one line each as it ends:
#   crash: HOW WHAT RUN RESULT SECONDS [detail]   RESULT: ok, triple-fault, emulation, timeout, failed
# HOW: nv (nestvisor, bzImage unpacked on the host with KASLR), nokaslr, nounpack (the kernel decompresses
# itself), qemu (QEMU -accel kvm as the guest's VMM, the reference). WHAT: serial (Debian's kernel writes SIZE
# KiB to its serial port, 1024 by default) or portflood (Debian's kernel as L2 runs portloop as L3: SIZE is
# COUNTxRUNS, RUNS floods of COUNT port writes in a row, 50000x2 by default; nested-init's nv.portflood).
how=$1 what=$2 first=$3 last=$4
G=/guest
case $what in
serial) size=${5:-1024} initrd=$G/initrd mem=256 args="nv.serflood=$size" nested= ;;
portflood) size=${5:-50000x2} initrd=$G/initrd-nested mem=768 args="nv.portflood=$size" nested="--nested on" ;;
*) echo "b-crash.sh: WHAT is serial or portflood"; exit 2 ;;
esac
cmdline="console=ttyS0 panic=-1 quiet $args"
up() { cut -d' ' -f1 /proc/uptime; }
i=$first
while [ "$i" -le "$last" ]; do
	log=/tmp/crash.log
	t0=$(up)
	case $how in
	qemu)
		timeout 1800 qemu-system-x86_64 -accel kvm -cpu host -m $mem -smp 1 -nodefaults -display none \
			-no-reboot -serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $initrd \
			-append "$cmdline" < /dev/null > $log 2>&1
		st=$? ;;
	nv|nokaslr|nounpack)
		extra= opt=
		[ $how = nokaslr ] && extra=" nokaslr"
		[ $how = nounpack ] && opt=--no-unpack
		nestvisor run --console stdio --kernel $G/vmlinuz --initrd $initrd --mem ${mem}M --cpus 1 \
			--cmdline "$cmdline$extra" --timeout 1800 $nested $opt < /dev/null > $log 2>&1
		st=$? ;;
	esac
	secs=$(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime)
	detail=
	floods=
	[ $what = portflood ] && floods="; floods ended: $(tr -d '\r' < $log | grep -c '^NVG: portflood run .* status 1$') of ${size#*x}"
	if grep -q '^NVG: \(serflood\|portflood\) done' $log; then
		res=ok detail=$floods
	else
		case $st in
		128) res=triple-fault ;;
		126) res=emulation ;;
		124) res=timeout ;;
		*) res=failed ;;
		esac
		detail="status $st, $(tr -d '\r' < $log | grep -c '^NVG:') NVG lines; $(grep -o 'KASLR seed [0-9]*' $log)$floods"
		tr -d '\r' < $log | grep -v '^x*$' | tail -n 25 | sed "s/^/# $how $i: /"
	fi
	echo "crash: $how $what $i $res $secs $detail"
	i=$((i + 1))
done
echo "crash-end: $how $what"
