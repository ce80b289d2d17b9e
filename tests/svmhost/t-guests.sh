# t-guests.sh: every test guest of tests/guests/, through the same test programs (test_run_guests,
# test_acpi_guests) and with the
# same expectations as on the software KVM of our machines, here on kvm_amd; and test_nested, whose live test
# (nested state saved and restored while a guest runs its own guest) can only run here.
. /svmhost/tap.sh
cd /nv || exit 1
# a failing test's message ends without a newline, so its "not ok" can follow it on the same line: found anywhere
NV_BUILDDIR=/nv NV_SRCDIR=/nv ./tests/test_run_guests 2>&1 | tee /out/test_run_guests.tap |
	sed -n -e 's/^.*not ok [0-9]* - /not ok - guests: /p' -e 's/^ok [0-9]* - /ok - guests: /p' -e 's/^#/#/p'
grep -q '^ok' /out/test_run_guests.tap || not_ok "guests: test_run_guests ran no test"
grep -q '^# not ok - tests' /out/test_run_guests.tap && not_ok "guests: test_run_guests reported a failure (its TAP above)"
NV_BUILDDIR=/nv NV_SRCDIR=/nv ./tests/test_acpi_guests 2>&1 | tee /out/test_acpi_guests.tap |
	sed -n -e 's/^.*not ok [0-9]* - /not ok - acpi: /p' -e 's/^ok [0-9]* - /ok - acpi: /p' -e 's/^#/#/p'
grep -q '^ok' /out/test_acpi_guests.tap || not_ok "acpi: test_acpi_guests ran no test"
grep -q '^# not ok - tests' /out/test_acpi_guests.tap && not_ok "acpi: test_acpi_guests reported a failure (its TAP above)"
NV_BUILDDIR=/nv NV_SRCDIR=/nv ./tests/test_nested 2>&1 | tee /out/test_nested.tap |
	sed -n -e 's/^.*not ok [0-9]* - /not ok - nested: /p' -e 's/^ok [0-9]* - /ok - nested: /p' -e 's/^#/#/p'
grep -q '^# not ok - tests' /out/test_nested.tap && not_ok "nested: test_nested reported a failure (its TAP above)"
grep -q '^ok.*test_nested_state_round_trip' /out/test_nested.tap ||
	not_ok "nested: the nested-state round trip did not run and pass on kvm_amd"
