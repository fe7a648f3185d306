#!/usr/bin/env python3
"""PyTorch on the same GPU and cases as `moontrain bench cuda` (bench/cuda-cases.json): torch.matmul
in bf16, the grouped expert GEMM with torch._grouped_mm (bf16, Zipf(1) rows over the experts, as
bench/grouped.ts splits them), and Muon's 5-step Newton-Schulz on a batch of matrices written in
torch (bf16, as Moonlight). Times with CUDA events, median of repeats; prints one JSON object of milliseconds (the summary,
bench/cuda-summary.ts, turns them into TFLOP/s with moontrain's FLOP counts).
    python3 bench/anchors/torch_cuda.py [--quick] [--repeats N] > torch-cuda.json
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_twin import newton_schulz  # noqa: E402  (Muon's Newton-Schulz as the twin writes it, bf16)


def zipf_groups(total, experts, s=1.0):
    w = [1 / (i + 1) ** s for i in range(experts)]
    exact = [x / sum(w) * total for x in w]
    sizes = [int(x) for x in exact]
    left = total - sum(sizes)
    order = sorted(range(experts), key=lambda i: -(exact[i] - int(exact[i])))
    for i in range(left):
        sizes[order[i]] += 1
    return sizes


def time_ms(fn, repeats, inner):
    fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        torch.cuda.synchronize()
        samples.append(start.elapsed_time(end) / inner)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    spec = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cuda-cases.json")))
    cases = spec["quick"] if a.quick else spec
    dev = torch.device("cuda")
    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "cases": []}
    for m, n, k in cases["matmul"]:
        x = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        w = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
        ms = time_ms(lambda: torch.matmul(x, w), a.repeats, 3 if m * n * k > 1e10 else 10)
        out["cases"].append({"kernel": "matmul", "shape": f"{m}x{n}x{k}", "ms": ms})
    for e, rows, k, n in cases["grouped"]:
        sizes = zipf_groups(rows, e)
        x = torch.randn(rows, k, device=dev, dtype=torch.bfloat16)
        w = torch.randn(e, k, n, device=dev, dtype=torch.bfloat16)
        offs = torch.tensor(sizes, device=dev, dtype=torch.int32).cumsum(0, dtype=torch.int32)
        entry = {"kernel": "grouped", "shape": f"{e}e {rows}x{n}x{k}"}
        try:
            ms = time_ms(lambda: torch._grouped_mm(x, w, offs=offs), a.repeats, 5)
            entry.update(ms=ms, how="torch._grouped_mm")
        except Exception as err:  # older torch, or a GPU its kernel does not support
            bounds = [0] + offs.tolist()
            loop = lambda: [x[bounds[i]:bounds[i + 1]] @ w[i] for i in range(e)]
            ms = time_ms(loop, a.repeats, 2)
            entry.update(ms=ms, how=f"per-expert loop ({type(err).__name__}: {err})"[:200])
        out["cases"].append(entry)
    for batch, rows, cols in cases["ns"]:
        g = torch.randn(batch, rows, cols, device=dev, dtype=torch.bfloat16)
        ms = time_ms(lambda: newton_schulz(g), a.repeats, 2)
        out["cases"].append({"kernel": "ns", "shape": f"{batch}x{rows}x{cols}", "ms": ms})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
