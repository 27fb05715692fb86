#!/bin/sh
# The classic recipe done by hand on a fresh Debian 12, by someone who already knows every
# answer kdoctor would find: the baseline bench/onboard.py compares ./onboard.sh against.
# Runs inside a fresh debootstrap root, as root, with the module sources at $1.
set -eu
src=$1
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends clang llvm libclang-dev bindgen rustc-web \
    rust-web-src make gcc binutils kmod linux-headers-amd64 qemu-system-x86 busybox-static cpio
release=$(ls /lib/modules | sort -V | tail -n 1)
work=$(mktemp -d)
cp -a "$src/hello-world" "$work/"
make -C "$work/hello-world" KDIR=/lib/modules/$release/build RUSTC=/usr/bin/rustc
cd "$work"
apt-get download "linux-image-$release"
dpkg-deb -x linux-image-*.deb image
mkdir -p initrd/bin initrd/dev initrd/proc initrd/sys
cp /bin/busybox initrd/bin/
for applet in sh mount insmod rmmod dmesg poweroff cat; do ln -s busybox "initrd/bin/$applet"; done
cp hello-world/helloworld.ko initrd/
cat > initrd/init <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
insmod /helloworld.ko
rmmod helloworld
dmesg
poweroff -f
INIT
chmod +x initrd/init
(cd initrd && find . | cpio -o -H newc --quiet | gzip -1 > ../initrd.gz)
timeout 300 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -nic none \
    -kernel "image/boot/vmlinuz-$release" -initrd initrd.gz \
    -append "console=ttyS0 panic=-1" > console.log 2>&1 || true
grep -q "Hello kernel module!" console.log
grep -q "My message is on the heap" console.log
grep -q "Goodbye kernel module!" console.log
echo "by hand: verified on $release"
