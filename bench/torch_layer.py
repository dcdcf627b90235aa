#!/usr/bin/python3
# bench/torch_layer.py — the PyTorch eager baseline of graph.layer: one
# Llama layer (the same ops, weights and input as bench/llama_graph.h's
# llama_layer) over a prompt, timed the same way as strata's run.
#
#   torch_layer.py WEIGHTS SEQ DIM HIDDEN HEADS THREADS REPS
#
# WEIGHTS is the raw f32 file bench_graph writes: attn_norm, wq, wk, wv, wo,
# ffn_norm, w_gate, w_up, w_down, then the input x [SEQ, DIM] and the
# positions as f32.  Prints one line: the median, minimum and maximum
# milliseconds, then the output's sum (so bench_graph can check that both
# computed the same thing).
import sys
import time

import numpy as np
import torch
import torch_config

path, seq, dim, hidden, heads, threads, reps = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)
hd = dim // heads
raw = np.fromfile(path, dtype=np.float32)
at = 0


def take(*shape):
    global at
    n = int(np.prod(shape))
    t = torch.from_numpy(raw[at:at + n].reshape(shape).copy())
    at += n
    return t


attn_norm, wq, wk, wv, wo = take(dim), take(dim, dim), take(dim, dim), take(dim, dim), take(dim, dim)
ffn_norm, wg, wu, wd = take(dim), take(hidden, dim), take(hidden, dim), take(dim, hidden)
x, pos = take(seq, dim), take(seq)
inv = 10000.0 ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
ang = pos.double()[:, None] * inv[None, :]
cos, sin = torch.cos(ang).float(), torch.sin(ang).float()


def rmsnorm(v, w):
    return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + 1e-5) * w


def rope(v):  # [seq, heads, hd], rotate-half pairs (i, i + hd/2)
    a, b = v[..., :hd // 2], v[..., hd // 2:]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.cat([a * c - b * s, a * s + b * c], dim=-1)


def layer(x):
    h = rmsnorm(x, attn_norm)
    q = rope((h @ wq.T).view(seq, heads, hd)).transpose(0, 1)
    k = rope((h @ wk.T).view(seq, heads, hd)).transpose(0, 1)
    v = (h @ wv.T).view(seq, heads, hd).transpose(0, 1)
    s = torch.softmax((q @ k.transpose(1, 2)) * (1.0 / hd ** 0.5), dim=-1)
    o = (s @ v).transpose(0, 1).reshape(seq, dim) @ wo.T
    r = o + x
    h = rmsnorm(r, ffn_norm)
    return (torch.nn.functional.silu(h @ wg.T) * (h @ wu.T)) @ wd.T + r


with torch.no_grad():
    out = layer(x)
    layer(x)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = layer(x)
        times.append(time.perf_counter() - t0)
times.sort()
print(f"{times[len(times) // 2] * 1e3:.4f} {times[0] * 1e3:.4f} {times[-1] * 1e3:.4f} {float(out.double().sum()):.6e}")
print(torch_config.describe())
