#!/usr/bin/python3
# bench/torch_prefill.py — the PyTorch eager baseline of serve.prefill: the
# whole Llama forward pass over a prompt, on the weights of a Hugging Face
# folder that `strata gen-model` wrote (config.json, model.safetensors;
# f32), timed the way bench_serve times strata's prefill.
#
#   torch_prefill.py FOLDER SEQ THREADS REPS
#
# Prints one line: median, minimum and maximum milliseconds, then the
# argmax of the last position's logits (so bench_serve can check that both
# computed the same thing).
import json
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch_config

folder, seq, threads, reps = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)
cfg = json.load(open(f"{folder}/config.json"))
raw = open(f"{folder}/model.safetensors", "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + hlen])
types = {"F32": np.float32, "F16": np.float16}


def weight(name):
    t = header[name]
    a, b = t["data_offsets"]
    arr = np.frombuffer(raw, dtype=types[t["dtype"]], count=(b - a) // np.dtype(types[t["dtype"]]).itemsize,
                        offset=8 + hlen + a)
    return torch.from_numpy(arr.astype(np.float32).reshape(t["shape"]))


d, L, H = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
KV, eps, theta = cfg["num_key_value_heads"], cfg["rms_norm_eps"], cfg["rope_theta"]
hd = d // H
emb, norm, head = weight("model.embed_tokens.weight"), weight("model.norm.weight"), weight("lm_head.weight")
layers = []
for l in range(L):
    p = f"model.layers.{l}."
    layers.append([weight(p + n + ".weight") for n in (
        "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")])
inv = theta ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
ang = torch.outer(torch.arange(seq, dtype=torch.float32), inv)
cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
mask = torch.full((seq, seq), float("-inf")).triu(1)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x):  # rotate-half, as transformers does
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def forward(ids):
    x = emb[ids]
    for an, wq, wk, wv, wo, fn, wg, wu, wd in layers:
        h = rms(x, an)
        q = rope((h @ wq.T).view(seq, H, hd).transpose(0, 1))
        k = rope((h @ wk.T).view(seq, KV, hd).transpose(0, 1)).repeat_interleave(H // KV, 0)
        v = (h @ wv.T).view(seq, KV, hd).transpose(0, 1).repeat_interleave(H // KV, 0)
        s = torch.softmax(q @ k.transpose(1, 2) / hd ** 0.5 + mask, -1)
        x = x + (s @ v).transpose(0, 1).reshape(seq, d) @ wo.T
        h = rms(x, fn)
        x = x + (torch.nn.functional.silu(h @ wg.T) * (h @ wu.T)) @ wd.T
    return rms(x[-1:], norm) @ head.T  # the last position's logits, as a server needs


ids = torch.tensor([5 + (i * 7) % 200 for i in range(seq)])
times = []
with torch.no_grad():
    forward(ids)
    for _ in range(reps):
        t0 = time.perf_counter()
        out = forward(ids)
        times.append((time.perf_counter() - t0) * 1e3)
print(f"{statistics.median(times):.3f} {min(times):.3f} {max(times):.3f} {int(out.argmax())}")
print(torch_config.describe())
