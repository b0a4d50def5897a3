# results.py: what a framework case prints. Each case adds named results and prints them as one
# JSON object on stdout; compare.py then checks the native run's against the run through vgpu,
# within each result's tolerance (a dtype's rounding: the same library may pick another
# algorithm when the device reports other free memory). Nothing here imports a framework.
import json
import math
import sys

_SAMPLE = 64  # values kept of a large array: evenly spaced, plus its sum and absolute sum


def _floats(values):
    out = []
    for v in values:
        v = float(v)
        out.append(v if math.isfinite(v) else repr(v))
    return out


class Results:
    def __init__(self):
        self.items = {}

    def fact(self, name, value):
        """An exact value: a string, a bool or an integer."""
        self.items[name] = {"exact": value}

    def array(self, name, values, rtol=1e-5, atol=1e-6):
        """Numbers compared within rtol/atol; `values` is anything numpy can read (on the CPU)."""
        import numpy as np

        a = np.asarray(values, dtype=np.float64).ravel()
        item = {"rtol": rtol, "atol": atol, "size": int(a.size)}
        if a.size > _SAMPLE:
            step = a.size // _SAMPLE
            item["sample"] = _floats(a[::step][:_SAMPLE])
            item["sum"] = _floats([a.sum()])[0]
            item["abs_sum"] = _floats([np.abs(a).sum()])[0]
        else:
            item["sample"] = _floats(a)
        self.items[name] = item

    def dump(self):
        json.dump(self.items, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        sys.stdout.flush()
