# t-guests.sh: every test guest of tests/guests/, through the same test program (test_run_guests) and with the
# same expectations as on the software KVM of our machines, here on kvm_amd.
. /svmhost/tap.sh
cd /nv || exit 1
NV_BUILDDIR=/nv NV_SRCDIR=/nv ./tests/test_run_guests 2>&1 | tee /out/test_run_guests.tap |
	sed -n -e 's/^\(not ok\|ok\) [0-9]* - /\1 - guests: /p' -e 's/^#/#/p'
grep -q '^ok' /out/test_run_guests.tap || not_ok "guests: test_run_guests ran no test"
