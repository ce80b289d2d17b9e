# t-net.sh: virtio-net with user-mode networking (libslirp) under nestvisor in the AMD-V host: Debian's guest
# gets its address by DHCP, fetches a file from a server on this host's loopback (10.0.2.2), and serves one
# that this host fetches through a forwarded port (hostfwd=tcp:2222-:8080).
. /svmhost/tap.sh
G=/guest
mkdir -p /tmp/www && echo "hello over the network" > /tmp/www/hello.txt
httpd -p 127.0.0.1:8000 -h /tmp/www
log=/out/virtio-net.log
nestvisor run --console stdio --name net --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
	--cmdline "console=ttyS0 panic=-1 quiet nv.net" --net user,hostfwd=tcp:2222-:8080 --timeout 240 --stats \
	< /dev/null > /tmp/net.raw 2>&1 &
vm=$!
i=0; while [ $i -lt 1800 ] && ! grep -q 'NVG: serving' /tmp/net.raw; do sleep 0.1; i=$((i + 1)); done
# nc, not wget: busybox-static's wget crashes here, where glibc's own libraries sit beside it (for nestvisor)
got=$(printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 20 nc 127.0.0.1 2222 | tail -n 1 | tr -d '\r')
wait $vm
tr -d '\r' < /tmp/net.raw > $log
check "virtio-net: the guest got 10.0.2.15 by DHCP" grep -q '^NVG: net 10.0.2.15$' $log
check "virtio-net: the guest fetched a file from this host's loopback (10.0.2.2)" \
	grep -q '^NVG: fetched hello over the network$' $log
check "virtio-net: this host fetched the guest's file through hostfwd 127.0.0.1:2222 ($got)" \
	test "$got" = "served by the guest"
check "virtio-net: the guest powered off cleanly" grep -q 'VM net (bzImage[^)]*) ended (reset, exit status 0)' $log
check "virtio-net: --stats counts its bytes" grep -q '^  virtio-net  *[1-9][0-9]*  *[1-9][0-9]*  *[1-9]' $log
grep -q '^NVG: fetched hello' $log || diag $log 30
