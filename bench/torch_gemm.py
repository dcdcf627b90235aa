#!/usr/bin/python3
# bench/torch_gemm.py — the PyTorch peer of graph.gemm's bf16 cases:
# torch.nn.functional.linear on a bf16 input and a bf16 weight, which
# PyTorch hands to oneDNN and its AVX512_BF16 (or AMX) kernels where the
# CPU has them: PyTorch's own best for a bf16 weight.
#
#   torch_gemm.py M K N THREADS REPS
#
# Prints one line: the median, minimum and maximum seconds of one product
# (each repetition times enough products for about a second's tenth), then
# torch_config's line.  Random values: only the time is compared.
import sys
import time

import torch
import torch_config

m, k, n, threads, reps = map(int, sys.argv[1:])
torch.set_num_threads(threads)
a = torch.randn(m, k).to(torch.bfloat16)
w = torch.randn(n, k).to(torch.bfloat16)
inner = max(1, int(1e8 / (2 * m * n * k)))
for _ in range(3):
    torch.nn.functional.linear(a, w)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    for _ in range(inner):
        torch.nn.functional.linear(a, w)
    times.append((time.perf_counter() - t0) / inner)
times.sort()
print(f"{times[len(times) // 2]:.9f} {times[0]:.9f} {times[-1]:.9f}")
print(torch_config.describe())
