#!/bin/sh
# run-linux-here: TAP around check-linux.sh (Debian's kernel to init on this host's KVM, whatever it is), for
# `make check`: SKIP without /dev/kvm, where the AMD-V test host (check-svmhost) boots Linux instead.
S=${NV_SRCDIR:-.}
out=$(sh "$S/tests/check-linux.sh" 2>&1)
rc=$?
echo "1..1"
printf '%s\n' "$out" | sed 's/^/# /'
case $rc in
0) echo "ok 1 - Debian's kernel on this host's KVM: $(printf '%s\n' "$out" | grep -o 'PASS: .*' | head -n 1)" ;;
77) echo "ok 1 # SKIP $(printf '%s\n' "$out" | sed -n 's/.*SKIP: //p' | head -n 1)" ;;
*) echo "not ok 1 - Debian's kernel on this host's KVM did not reach init" ;;
esac
