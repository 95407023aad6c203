#!/bin/bash
# Build (once) the Debian bookworm root filesystem the boot test runs a proxy instance in, and
# print its path. debootstrap --variant=minbase with the packages of rootfs-packages.txt, from
# Debian's mirror; cached under $PEP_HOST_ROOTFS_CACHE (default /var/tmp/cdk-private-egress-proxy/rootfs),
# keyed by a hash of the package list and this script, so later runs reuse it.
#
#   test/host/rootfs.sh            (root; needs debootstrap)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${PEP_HOST_ROOTFS_CACHE:-/var/tmp/cdk-private-egress-proxy/rootfs}
mirror=${PEP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
key=$(cat "$here/rootfs-packages.txt" "$0" | sha256sum | cut -c1-16)
target=$cache/bookworm-$key

mkdir -p "$cache"
exec 9>"$cache/build.lock"
flock 9
if [ -f "$target/.complete" ]; then
  echo "$target"
  exit 0
fi
packages=$(grep -v '^#' "$here/rootfs-packages.txt" | tr -s '\n' ',' | sed 's/^,//; s/,$//')
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "building the root filesystem with $packages" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$work/root" "$mirror" >&2
chroot "$work/root" apt-get clean
rm -rf "$target"
mv "$work/root" "$target"
touch "$target/.complete"
echo "$target"
