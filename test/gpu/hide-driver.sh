#!/usr/bin/env bash
# hide-driver.sh COMMAND [ARGS...]: runs COMMAND as a guest would see the machine, with no
# NVIDIA driver: in a new mount namespace where every libcuda.so* and libnvidia-ml.so* that
# ldconfig or a search of the library folders finds is replaced by an empty file (/dev/null
# bound over it). A program that reached the GPU around vgpu would fail here instead of
# passing. vgpud itself runs outside, with the real driver. Needs root.
#
# With VGPU_GUEST_LIBDIR set, that folder is also put first in the loader's cache, as the guest
# package's /etc/ld.so.conf.d/vgpu-guest.conf does: software that looks for libcuda.so.1 with
# `ldconfig -p` (Triton does) then finds vgpu's, as in a guest.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
exec unshare -m --propagation private bash -c '
  set -euo pipefail
  { ldconfig -p | awk "/(libcuda|libnvidia-ml)\\.so/ {print \$NF}"
    find /usr /lib /lib64 /opt /usr/local \( -name "libcuda.so*" -o -name "libnvidia-ml.so*" \) \
      \( -type f -o -type l \) 2>/dev/null || true
  } | while read -r f; do readlink -f "$f" || true; done | sort -u | while read -r t; do
    if [[ -f "$t" ]]; then mount --bind /dev/null "$t"; fi
  done
  if [[ -n "${VGPU_GUEST_LIBDIR:-}" ]]; then
    conf=$(mktemp) cache=$(mktemp)
    printf "%s\ninclude /etc/ld.so.conf.d/*.conf\n" "$VGPU_GUEST_LIBDIR" >"$conf"
    ldconfig -C "$cache" -f "$conf" 2>/dev/null
    mount --bind "$cache" /etc/ld.so.cache
  fi
  exec "$@"' hide-driver "$@"
