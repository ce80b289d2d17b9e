# t-power.sh: `nestvisor stop` as a PC's power button, on Debian's kernel: with its ACPI button driver and a
# listener that powers off on a press (what systemd-logind or acpid do), the guest powers off when asked and the
# VM ends "powered-off", status 0; a kernel without the driver does not listen and is stopped at once, saying
# so; one whose driver has the button but no one acting on it is stopped when --timeout is up; --force asks
# nothing.
# svmhost-limit: 400
. /svmhost/tap.sh
out=/out/power
mkdir -p $out
G=/guest
# boot NAME WORDS: the guest in the background ($pid), its console in $out/NAME.raw, until it is idle
boot() {
	name=$1
	shift
	nestvisor run --console stdio --name $name --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
		--cmdline "console=ttyS0 panic=-1 quiet $*" --timeout 300 < /dev/null > $out/$name.raw 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 120 ] && ! grep -q '^NVG: idle' $out/$name.raw; do sleep 1; i=$((i + 1)); done
}
ended() { wait $pid; st=$?; tr -d '\r' < $out/$1.raw > $out/$1.log; }

boot btn nv.button
check "listening: the guest's button driver has the power button ($(grep -o 'on /dev/input/event[0-9]*' $out/btn.raw))" \
	grep -q '^NVG: listening for the power button' $out/btn.raw
t0=$(date +%s)
nestvisor stop btn > $out/btn.stop 2>&1
ended btn
check "listening: stop pressed the button and waited ($(tr '\n' ' ' < $out/btn.stop))" \
	sh -c "grep -q 'its power button pressed' $out/btn.stop && grep -q 'VM btn has ended' $out/btn.stop"
check "listening: the guest heard it and powered off, the VM ending powered-off, status $st ($(($(date +%s) - t0)) s)" \
	sh -c "test $st = 0 && grep -q '^NVG: power button pressed: powering off' $out/btn.log &&
		grep -q 'VM btn ended: powered-off (exit status 0)' $out/btn.log"

boot deaf nv.idle
t0=$(date +%s)
nestvisor stop deaf > $out/deaf.stop 2>&1
ended deaf
check "no button driver: stopped at once, saying why ($(cat $out/deaf.stop), $(($(date +%s) - t0)) s, status $st)" \
	sh -c "test $st = 130 && grep -q 'stopped (its guest does not listen for the ACPI power button' $out/deaf.stop"

boot unheard nv.button nv.deaf
t0=$(date +%s)
nestvisor stop unheard --timeout 5 > $out/unheard.stop 2>&1
ended unheard
check "a driver but no one acting: stopped when --timeout 5 is up ($(tr '\n' ' ' < $out/unheard.stop), status $st)" \
	sh -c "test $st = 130 && grep -q 'stopped (its guest did not power off within 5 s)' $out/unheard.stop &&
		test $(($(date +%s) - t0)) -ge 5"

boot forced nv.button
nestvisor stop forced --force > $out/forced.stop 2>&1
ended forced
check "--force: stopped at once, the guest not asked (status $st)" \
	sh -c "test $st = 130 && grep -q 'VM forced stopped$' $out/forced.stop &&
		! grep -q 'power button pressed' $out/forced.log"
