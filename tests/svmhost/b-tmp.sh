for i in 1 2 3 4 5 6; do
  nestvisor run --console stdio --kernel /guest/vmlinuz --initrd /guest/initrd --mem 256M --cmdline "console=ttyS0 panic=-1 quiet" --timeout 60 < /dev/null > /tmp/o 2>&1; echo "bz $i: $? $(grep -c NVG /tmp/o) $(cut -d' ' -f1 /proc/uptime)"
done
