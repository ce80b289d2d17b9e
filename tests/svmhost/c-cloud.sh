# c-cloud.sh: (the test host with a Debian 12 image as its /dev/vda: run.sh --drive, tests/svmhost/debian-image.sh)
# what a user does with a distribution's image: `nestvisor run --disk IMAGE` alone boots the image's own
# kernel as its GRUB would (update-grub's grub.cfg), `--cloud-init ssh-key=...` has cloud-init make the user
# with the key at first boot, ssh logs in through `--net user,hostfwd=tcp::2222-:22` and runs a command (sudo
# included), and `nestvisor stop` ends it gracefully: the ACPI power button, systemd powering off.
# svmhost-limit: 1500
. /svmhost/tap.sh
out=/out/cloud
mkdir -p $out
if ! [ -b /dev/vda ]; then
	not_ok "the Debian image: no /dev/vda in this host (run.sh --drive IMAGE; debian-image.sh makes it)"
	exit 0
fi
# ssh, as the root of a real system has it
grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >> /etc/passwd
mkdir -p /root/.ssh && chmod 700 /root/.ssh
ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519
SSH="ssh -p 2222 -i /root/.ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR tester@127.0.0.1"

t0=$(date +%s)
nestvisor run --disk /dev/vda --cloud-init ssh-key=/root/.ssh/id_ed25519.pub,user=tester --mem 1G --cpus 2 \
	--net user,hostfwd=tcp::2222-:22 --detach --name cloud --serial-log $out/console.raw > $out/run.log 2>&1
check "the image's own kernel, chosen as its GRUB would ($(grep -o 'booting .*' $out/run.log | cut -c1-140))" \
	grep -q "booting /dev/vda: GRUB's default entry 'Debian GNU/Linux' in partition 1 (ext4)'s /boot/grub/grub.cfg" \
	$out/run.log || diag $out/run.log
# the first login: cloud-init has made the user and put the key in place (a first boot under TCG: minutes)
i=0
until $SSH true > $out/ssh.err 2>&1 || [ $i -ge 200 ] || ! nestvisor ps 2>/dev/null | grep -qw cloud; do
	sleep 5
	i=$((i + 1))
done
t1=$(date +%s)
check "cloud-init made user tester with the key: ssh logs in, $((t1 - t0)) s from launch" $SSH true ||
	{ diag $out/ssh.err 5; tr -d '\r' < $out/console.raw | tail -n 40 | sed 's/^/#   /'; }
$SSH 'grep PRETTY_NAME /etc/os-release; uname -r; sudo -n id -u; cat /proc/cmdline; ls /dev/disk/by-label' \
	> $out/cmd.log 2>&1
check "a command over ssh: $(head -n 2 $out/cmd.log | tr '\n' ' ')" \
	sh -c "grep -q 'Debian GNU/Linux 12' $out/cmd.log && grep -q 'cloud-amd64' $out/cmd.log"
check "sudo as the cloud-init user: $(sed -n 3p $out/cmd.log)" sh -c "sed -n 3p $out/cmd.log | grep -qx 0"
check "the guest's command line is its grub.cfg's: $(sed -n 4p $out/cmd.log | cut -c1-120)" \
	sh -c "sed -n 4p $out/cmd.log | grep -q 'root=UUID=.* ro console=tty0 console=ttyS0,115200'"
check "the seed disk is there, labelled cidata: $(sed -n '5,$p' $out/cmd.log | tr '\n' ' ')" grep -qx cidata $out/cmd.log
# a graceful end: the power button; systemd-logind powers the guest off
t2=$(date +%s)
nestvisor stop cloud --timeout 600 > $out/stop.log 2>&1
t3=$(date +%s)
tr -d '\r' < $out/console.raw > $out/console.log
check "nestvisor stop pressed the power button and the guest powered off ($((t3 - t2)) s: $(tr '\n' ' ' < $out/stop.log))" \
	sh -c "grep -q 'its power button pressed' $out/stop.log && grep -q 'VM cloud has ended' $out/stop.log"
check "the guest shut down cleanly (its console: $(grep -o 'reboot: Power down' $out/console.log | head -n 1))" \
	grep -q 'reboot: Power down' $out/console.log || tail -n 30 $out/console.log | sed 's/^/#   /'
