#!/usr/bin/env bash
# Lane: the proxy host's life under real systemd (root). The stand-ins' unit tests, the Debian
# root filesystem (debootstrap, built once and cached by its package list), then the boot test:
# the provider's template applied to it and booted with systemd-nspawn.
set -euo pipefail
source scripts/ci/lib.sh
stage "cfn-init and cfn-hup stand-ins (unit tests)" npx projen test:host:standins
stage "Root filesystem of the boot test (debootstrap; cached by its package list)" bash test/host/rootfs.sh
# The container's Squid has its own /run, network and PID namespaces, so it cannot collide with
# the real-Squid lane; the lock only keeps to this repository's rule on shared machines (one Squid
# run at a time), and the root filesystem above is built outside it.
stage "Proxy host booted under systemd (host boot: N checks)" npx projen test:host
