#!/usr/bin/env python3
# compare.py NATIVE.json VGPU.json: exits 0 when every result of the native run is in the vgpu
# run, with the same exact facts and numbers within the result's tolerance; otherwise prints
# each difference (at most 20) and exits 1.
import json
import math
import sys


def close(a, b, rtol, atol):
    if isinstance(a, str) or isinstance(b, str):  # inf or nan, written as text
        return a == b
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


def differences(native, vgpu):
    for name, want in native.items():
        got = vgpu.get(name)
        if got is None:
            yield f"{name}: missing through vgpu"
            continue
        if "exact" in want:
            if got.get("exact") != want["exact"]:
                yield f"{name}: {want['exact']!r} natively, {got.get('exact')!r} through vgpu"
            continue
        rtol, atol = want["rtol"], want["atol"]
        if got.get("size") != want["size"]:
            yield f"{name}: {want['size']} values natively, {got.get('size')} through vgpu"
            continue
        # Sums over many values are looser: their rounding adds up.
        for key in ("sum", "abs_sum"):
            if key in want and not close(want[key], got.get(key, "missing"), rtol * 10, atol * want["size"]):
                yield f"{name}.{key}: {want[key]} natively, {got.get(key)} through vgpu"
        for i, (a, b) in enumerate(zip(want["sample"], got.get("sample", []))):
            if not close(a, b, rtol, atol):
                yield f"{name}[{i}]: {a} natively, {b} through vgpu (rtol {rtol}, atol {atol})"
                break
    for name in vgpu:
        if name not in native:
            yield f"{name}: only through vgpu"


def main():
    if len(sys.argv) != 3:
        print("usage: compare.py NATIVE.json VGPU.json", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            native = json.load(f)
        with open(sys.argv[2]) as f:
            vgpu = json.load(f)
    except (OSError, ValueError) as e:
        print(f"unreadable output: {e}")
        return 1
    diffs = list(differences(native, vgpu))
    for d in diffs[:20]:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
