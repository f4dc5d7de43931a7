#!/bin/busybox sh
# /init of vhostlab's test guest (copied into the initramfs by build-initramfs.mjs).
#
# Loads the virtio-net modules, brings eth0 up, sends ICMP echo requests to a peer whose MAC is
# entered as a permanent neighbour (so no ARP is needed: a loopback back-end never answers ARP),
# then prints one parseable line on the serial console and powers off:
#   VHOSTLAB-RESULT tx_packets=.. rx_packets=.. ... (counters of eth0 after the run)
# or, on any failure:
#   VHOSTLAB-ERROR reason=...
# The host harness (test/interop/support/qemu-guest.ts) reads these lines.
#
# Parameters come from the kernel command line, so one cached initramfs serves every run:
#   vhostlab.mode=probe|net   probe: print VHOSTLAB-BOOT and power off (KVM probe)
#   vhostlab.packets=N        echo requests sent on each queue pair (default 16)
#   vhostlab.interval=S       seconds between them (default 0.05)
#   vhostlab.ip=A.B.C.D       guest address (/24)
#   vhostlab.peer=A.B.C.D     peer address
#   vhostlab.peermac=MAC      peer MAC for the static neighbour entry
#   vhostlab.settle=S         seconds to wait for stragglers before reading counters (default 1)

/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

MODE=net PACKETS=16 INTERVAL=0.05 IP=10.99.0.2 PEER=10.99.0.1 PEERMAC=02:00:00:00:99:01 SETTLE=1
for word in $(cat /proc/cmdline); do
  case "$word" in
    vhostlab.mode=*) MODE="${word#*=}" ;;
    vhostlab.packets=*) PACKETS="${word#*=}" ;;
    vhostlab.interval=*) INTERVAL="${word#*=}" ;;
    vhostlab.ip=*) IP="${word#*=}" ;;
    vhostlab.peer=*) PEER="${word#*=}" ;;
    vhostlab.peermac=*) PEERMAC="${word#*=}" ;;
    vhostlab.settle=*) SETTLE="${word#*=}" ;;
  esac
done

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Every exit path powers off: a guest left running would only end at the host's time-out.
finish() {
  sync
  poweroff -f
  sleep 5
}
fail() {
  echo "VHOSTLAB-ERROR reason=$1 uptime=$(uptime_s)"
  finish
}

echo "VHOSTLAB-BOOT uptime=$(uptime_s) mode=$MODE"
[ "$MODE" = probe ] && finish

# Load order was resolved from modules.dep on the host (dependencies first).
for m in $(cat /lib/modules/load-order); do
  insmod "/lib/modules/$m" || fail "insmod-$m"
done

# The PCI device is probed asynchronously after virtio_pci loads: wait for eth0 (5 s).
i=0
while [ ! -e /sys/class/net/eth0 ]; do
  i=$((i + 1))
  [ $i -gt 50 ] && fail no-eth0
  sleep 0.1
done

# The loopback back-end reflects everything: silence IPv6 (router solicitations, DAD, MLD) so the
# counters hold only our echo requests.
echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6 2>/dev/null

ip addr add "$IP/24" dev eth0 || fail ip-addr
ip link set eth0 up || fail link-up
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ]; do
  i=$((i + 1))
  [ $i -gt 50 ] && fail no-carrier
  sleep 0.1
done
# busybox ip cannot add neighbours; arp -s makes a permanent entry.
arp -i eth0 -s "$PEER" "$PEERMAC" || fail neigh

# Boot messages stay on the console for post-mortems, but from here on the kernel must not
# splice its messages into the lines the host parses.
dmesg -n 1

QUEUES=$(ls -d /sys/class/net/eth0/queues/tx-* | wc -l)
CPUS=$(nproc)
echo "VHOSTLAB-UP uptime=$(uptime_s) queues=$QUEUES cpus=$CPUS mac=$(cat /sys/class/net/eth0/address)"

# virtio_net maps transmit queue i to CPU i (XPS) when it has a queue pair per CPU, so pinning one
# ping per CPU puts traffic on every queue pair.
SENDERS=$QUEUES
[ "$CPUS" -lt "$SENDERS" ] && SENDERS=$CPUS
c=0
while [ $c -lt "$SENDERS" ]; do
  # -W 1: replies never come (the back-end returns our own request), so do not wait long.
  taskset -c "$c" ping -q -c "$PACKETS" -i "$INTERVAL" -W 1 "$PEER" >/dev/null 2>&1 &
  c=$((c + 1))
done
wait
sleep "$SETTLE"

S=/sys/class/net/eth0/statistics
echo "VHOSTLAB-RESULT tx_packets=$(cat $S/tx_packets) rx_packets=$(cat $S/rx_packets)" \
  "tx_bytes=$(cat $S/tx_bytes) rx_bytes=$(cat $S/rx_bytes)" \
  "tx_dropped=$(cat $S/tx_dropped) rx_dropped=$(cat $S/rx_dropped) rx_errors=$(cat $S/rx_errors)" \
  "sent=$((PACKETS * SENDERS)) queues=$QUEUES senders=$SENDERS uptime=$(uptime_s)"
finish
