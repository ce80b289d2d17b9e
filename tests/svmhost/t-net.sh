# t-net.sh: virtio-net with user-mode networking (libslirp) under nestvisor in the AMD-V host: Debian's guest
# gets its address by DHCP, fetches a file from a server on this host's loopback (10.0.2.2, with
# hostloopback=on; by default it cannot), and serves one that this host fetches through a forwarded port
# (hostfwd=tcp:2222-:8080).
. /svmhost/tap.sh
G=/guest
mkdir -p /tmp/www && echo "hello over the network" > /tmp/www/hello.txt
httpd -p 127.0.0.1:8000 -h /tmp/www
# user_net NAME LOG PORT NETOPTS...: the nv.net guest under --net user,NETOPTS; this host fetches the guest's file
# through the forwarded PORT once it serves (into $got); the guest's console in LOG
user_net() {
	name=$1 log=$2 port=$3
	shift 3
	nestvisor run --console stdio --name $name --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
		--cmdline "console=ttyS0 panic=-1 quiet nv.net" --timeout 240 "$@" < /dev/null > /tmp/net.raw 2>&1 &
	vm=$!
	i=0; while [ $i -lt 1800 ] && ! grep -q 'NVG: serving' /tmp/net.raw; do sleep 0.1; i=$((i + 1)); done
	# nc, not wget: busybox-static's wget crashes here, where glibc's own libraries sit beside it (for nestvisor)
	got=$(printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 20 nc 127.0.0.1 $port | tail -n 1 | tr -d '\r')
	wait $vm
	tr -d '\r' < /tmp/net.raw > $log
}
log=/out/virtio-net.log
user_net net $log 2222 --net user,hostfwd=tcp:2222-:8080,hostloopback=on --stats
check "virtio-net: the guest got 10.0.2.15 by DHCP" grep -q '^NVG: net 10.0.2.15$' $log
check "virtio-net: the guest fetched a file from this host's loopback (10.0.2.2)" \
	grep -q '^NVG: fetched hello over the network$' $log
check "virtio-net: this host fetched the guest's file through hostfwd 127.0.0.1:2222 ($got)" \
	test "$got" = "served by the guest"
check "virtio-net: the guest powered off cleanly" grep -q 'VM net (bzImage[^)]*) ended (powered-off, exit status 0)' $log
check "virtio-net: --stats counts its bytes" grep -q '^  virtio-net  *[1-9][0-9]*  *[1-9][0-9]*  *[1-9]' $log
grep -q '^NVG: fetched hello' $log || diag $log 30

# the default: this host's own 127.0.0.1 is not the guest's to reach (a service bound there trusts this host),
# while a forwarded port still reaches the guest
log=/out/virtio-net-default.log
user_net netdef $log 2223 --net user,hostfwd=tcp:127.0.0.1:2223-:8080
check "virtio-net: by default the guest does not reach this host's loopback through 10.0.2.2" \
	sh -c "grep -q '^NVG: fetched' $log && ! grep -q '^NVG: fetched hello over the network' $log"
check "virtio-net: a forwarded port bound to an address given (127.0.0.1:2223) still reaches the guest ($got)" \
	test "$got" = "served by the guest"

# --net tap: the guest and this host exchange files over a tap in a network namespace of its own (made with
# unshare, so nothing outside it sees the tap or its addresses), with vhost-net carrying the frames (the
# kernel's vhost_net is loaded here) and with vhost=off (nestvisor's own threads).
[ -e /dev/vhost-net ] || echo "# no /dev/vhost-net in this host: the vhost checks will fail"
for vh in auto off; do
	log=/out/virtio-net-tap-$vh.log
	rm -f /tmp/tap.raw /tmp/tap.got
	unshare -n sh -c "
		ip link set lo up
		nestvisor run --console stdio --name tap-$vh --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
			--cmdline 'console=ttyS0 panic=-1 quiet nv.tap' --net tap=nv0,vhost=$vh --timeout 240 --stats \
			< /dev/null > /tmp/tap.raw 2>&1 &
		vm=\$!
		i=0; while [ \$i -lt 300 ] && ! ip link show nv0 > /dev/null 2>&1; do sleep 0.1; i=\$((i + 1)); done
		ip addr add 10.0.3.1/24 dev nv0 && ip link set nv0 up
		httpd -f -p 10.0.3.1:8000 -h /tmp/www &
		web=\$!
		i=0; while [ \$i -lt 1800 ] && ! grep -q 'NVG: serving' /tmp/tap.raw; do sleep 0.1; i=\$((i + 1)); done
		printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 20 nc 10.0.3.15 8080 | tail -n 1 | tr -d '\r' > /tmp/tap.got
		wait \$vm
		kill \$web
		ip link show nv0 > /dev/null 2>&1 && echo 'NVH: nv0 outlived the VM' >> /tmp/tap.raw
	"
	tr -d '\r' < /tmp/tap.raw > $log
	ip link show nv0 > /dev/null 2>&1 && echo "NVH: nv0 is in this host's own namespace" >> $log
	check "virtio-net tap vhost=$vh: the guest fetched a file from this host over the tap" \
		grep -q '^NVG: fetched hello over the network$' $log
	check "virtio-net tap vhost=$vh: this host fetched the guest's file ($(cat /tmp/tap.got))" \
		test "$(cat /tmp/tap.got)" = "served over the tap"
	check "virtio-net tap vhost=$vh: the guest powered off cleanly" \
		grep -q "VM tap-$vh (bzImage[^)]*) ended (powered-off, exit status 0)" $log
	check "virtio-net tap vhost=$vh: the tap lived in its namespace, for the VM's life only" sh -c "! grep -q '^NVH:' $log"
	# the MAC is the VM's name's: 52:54:00 and three bytes, the same at every start
	check "virtio-net tap vhost=$vh: a MAC of the VM's own (52:54:00:...)" grep -q '^NVG: mac 52:54:00:' $log
	if [ $vh = auto ]; then
		# notifications go from KVM to vhost, interrupts from vhost to KVM (irqfd): none through nestvisor
		check "virtio-net tap: vhost-net carried the frames (the tap's counters), kicks and interrupts bypassing us" \
			grep -q '^  virtio-net vhost  *[0-9]  *0  *[1-9]' $log
	else
		check "virtio-net tap vhost=off: nestvisor's threads carried them (its counters)" \
			grep -q '^  virtio-net  *[1-9][0-9]*  *[1-9][0-9]*  *[1-9]' $log
	fi
	grep -q '^NVG: fetched hello' $log || diag $log 30
done

# another user's tap (made for uid 65534, as `ip tuntap add ... user` makes it) is not attached unless asked
if [ -x /nv/ip-full ] && /nv/ip-full tuntap add mode tap user 65534 name nvother 2>/dev/null; then
	out=$(nestvisor run --kernel /nv/tests/guests/hello.elf --net tap=nvother --timeout 30 2>&1); rc=$?
	printf '%s' "$out" | grep -q 'belongs to uid 65534'; said=$?
	check "tap: another user's tap is refused, saying whose ($rc: $(echo "$out" | tail -n 1 | cut -c1-90))" \
		test "$rc-$said" = 2-0
	nestvisor run --kernel /nv/tests/guests/hello.elf --net tap=nvother,owner=any --timeout 30 > /dev/null 2>&1
	rc=$?
	check "tap: with owner=any it is attached (the guest ran: exit status $rc)" test $rc = 1
	/nv/ip-full tuntap del mode tap name nvother
else
	ok "tap: another user's tap # SKIP no iproute2 ip here to make one (apt-get install iproute2)"
	ok "tap: owner=any # SKIP no iproute2 ip here to make one"
fi
