#!/bin/busybox sh
# /init of a tracer-bpf vmtest guest (tools/vmtest). Sets the machine up, runs
# the kernel test suites, prints exactly one "TRACER_BPF_RESULT {json}" line on
# the console whatever happens, and powers off. The kernel index comes from the
# command line (vmtest.k=N); /vmtest/k/N/env says the rest.
/bin/busybox mkdir -p /bin /proc /sys /dev /tmp /run
/bin/busybox --install -s /bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb NO_COLOR=1 CI=1
RESULT=TRACER_BPF_RESULT

# After the result line: let it drain through the serial port first, or the
# kernel's "Power down" lands inside it (the host joins such a line too,
# lib/boot.mjs resultLine).
power_off() {
  sync
  sleep 1
  poweroff -f
  sleep 10
}

# Any failure before the summarizer runs still gives a result line.
finish() {
  echo 1 > /proc/sys/kernel/printk 2>/dev/null
  echo
  echo "$RESULT {\"error\":\"$1\",\"release\":\"$(uname -r)\"}"
  power_off
}

mount -t proc proc /proc || finish "guest: mount proc failed"
mount -t sysfs sysfs /sys || finish "guest: mount sysfs failed"
mount -t devtmpfs devtmpfs /dev || finish "guest: mount devtmpfs failed"
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# /tmp stays on the initramfs root (already RAM-backed): a tmpfs mounted over
# it would hide the workspace when the checkout itself lives under /tmp.
chmod 1777 /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing || finish "guest: mount tracefs failed"
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf || finish "guest: mount bpffs failed"
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
chmod 1777 /var/tmp
hostname vmtest
ip link set lo up || finish "guest: ip link set lo up failed"

K=$(sed -n 's/.*vmtest\.k=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$K" ] && [ -r "/vmtest/k/$K/env" ] || finish "guest: no vmtest.k=N on the kernel command line"
. "/vmtest/k/$K/env"

for m in $(cat "/vmtest/k/$K/modules.order"); do
  insmod "/vmtest/k/$K/modules/$m.ko" || echo "vmtest: insmod $m failed"
done

echo "TRACER_BPF_BOOTED $(uname -r) cpus=$(nproc)"
mkdir -p /tmp/vmtest
# One vitest process for all suites: each suite directory is a project (its own config),
# files run one at a time (one kernel, real sockets), modules load once per project.
vitest="$VMTEST_REPO/node_modules/vitest/vitest.mjs"
echo "TRACER_BPF_SUITE $VMTEST_SUITES"
(cd "$VMTEST_REPO" && "$VMTEST_NODE" "$vitest" run $VMTEST_FILTER --config "$VMTEST_REPO/tools/vmtest/guest/vitest.projects.mjs" \
  --root "$VMTEST_REPO" --no-isolate --maxWorkers=1 --no-file-parallelism --passWithNoTests --reporter=default --reporter=json \
  --outputFile.json=/tmp/vmtest/run.json < /dev/null)
echo $? > /tmp/vmtest/run.rc
echo "TRACER_BPF_SUITE_DONE exit=$(cat /tmp/vmtest/run.rc)"

# The summarizer prints the result line itself (after lowering the console log level).
echo 1 > /proc/sys/kernel/printk
"$VMTEST_NODE" /vmtest/summarize.mjs > /tmp/vmtest/result 2> /tmp/vmtest/summarize.err
rc=$?
if grep -q "^$RESULT " /tmp/vmtest/result; then
  grep "^$RESULT " /tmp/vmtest/result
  power_off
fi
cat /tmp/vmtest/summarize.err | tail -n 20
finish "guest: the summarizer failed (exit $rc)"
