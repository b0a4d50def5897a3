#!/usr/bin/env bash
# pack-qemu.sh OUT_FILE
#
# Runs on the build machine (Debian 12, qemu-system-x86 installed). Packs QEMU for a machine that
# has none (the GPU machine: Ubuntu, no network, no apt) into OUT_FILE (a .tar.xz, about 12 MB):
#
#   q/qemu             a launcher: runs the binary with the packed loader and libraries, so the
#                      GPU machine's own glibc and libraries never mix with Debian's
#   q/bin/qemu-system-x86_64
#   q/lib/             the loader and every library ldd lists for it
#   q/share/           the firmware a -kernel boot needs (pass -L q/share)
#   q/modules/         the TCG accelerator module (set QEMU_MODULE_DIR=q/modules)
#
# test/gpu/run-vm.sh unpacks it and sets QEMU, QEMU_DATA_DIR and QEMU_MODULE_DIR for boot.sh.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 OUT_FILE" >&2; exit 2; }
out=$(realpath "$1")
qemu=$(command -v qemu-system-x86_64) || { echo "error: qemu-system-x86_64 not found (apt-get install qemu-system-x86)" >&2; exit 1; }
tcg=/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so
[[ -f "$tcg" ]] || { echo "error: $tcg not found" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/q/bin" "$stage/q/lib" "$stage/q/share" "$stage/q/modules"
cp -L "$qemu" "$stage/q/bin/"
cp -L "$tcg" "$stage/q/modules/"
# A -kernel boot under SeaBIOS needs only these firmware files.
for f in bios-256k.bin linuxboot_dma.bin kvmvapic.bin; do
  cp -L "/usr/share/qemu/$f" "$stage/q/share/" 2>/dev/null || cp -L "/usr/share/seabios/$f" "$stage/q/share/"
done
for obj in "$qemu" "$tcg"; do
  ldd "$obj" | awk '/=> \// { print $3; next } /^[[:space:]]*\// { print $1 }' |
    while read -r lib; do cp -Ln "$lib" "$stage/q/lib/"; done
done
cat > "$stage/q/qemu" <<'EOF'
#!/bin/sh
d=$(dirname "$(readlink -f "$0")")
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/bin/qemu-system-x86_64" "$@"
EOF
chmod 755 "$stage/q/qemu"
tar -C "$stage" -cJf "$out" q
echo "pack-qemu.sh: $out ($(du -h "$out" | cut -f1))"
