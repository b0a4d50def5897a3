#!/usr/bin/env python3
# summarize.py SAMPLES.jsonl: the Markdown table of run-frameworks-bench.sh: per case, the median
# natively and through vgpu, vgpu over native (for times, native over vgpu, so that above 1 is
# always better), the target and whether it was met.
import json
import statistics
import sys

# Throughput ratios (vgpu / native, at least) and, for first_call, the most seconds vgpu may add.
TARGETS = {
    "gemm": ("ratio", 0.99),
    "gpt_train": ("ratio", 0.97),
    "decode_eager": ("ratio", 0.90),
    "decode_graph": ("ratio", 0.97),
    "first_call_first_process": ("added_s", 2.0),
    "first_call_later_process": ("added_s", 0.5),
}


def main():
    samples = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    labels = list(dict.fromkeys(s["label"] for s in samples))
    print("| case | unit | native (median) | vgpu (median) | vgpu vs native | target | met |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label in labels:
        by_side = {side: [s["value"] for s in samples if s["label"] == label and s["side"] == side]
                   for side in ("native", "vgpu")}
        if not by_side["native"] or not by_side["vgpu"]:
            print(f"| {label} | | {len(by_side['native'])} runs | {len(by_side['vgpu'])} runs | missing | | no |")
            continue
        n, v = statistics.median(by_side["native"]), statistics.median(by_side["vgpu"])
        unit = next(s["unit"] for s in samples if s["label"] == label)
        kind, target = TARGETS.get(label, ("ratio", None))
        if kind == "added_s":
            shown, met, target_text = f"+{v - n:.3f} s", v - n <= target, f"≤ +{target} s"
        else:
            ratio = v / n if n else float("nan")
            shown, met = f"{ratio:.3f}x", target is None or ratio >= target
            target_text = f"≥ {target}x" if target is not None else "-"
        print(f"| {label} | {unit} | {n:.4g} | {v:.4g} | {shown} | {target_text} | {'yes' if met else 'NO'} |")


if __name__ == "__main__":
    main()
