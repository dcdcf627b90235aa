#!/usr/bin/env python3
# bench/llama_cpp_serve.py — the llama.cpp baseline of serve.real: prefill
# and greedy decode speed of a GGUF file through llama-cpp-python (which
# builds llama.cpp), on the prompt and thread count bench_serve gives.
#
#   llama_cpp_serve.py MODEL THREADS IDS STEPS REPS
#
# IDS is the prompt as comma-separated token ids (bench_serve tokenizes it,
# so both engines read the same tokens).  Prints one JSON object: median
# prefill and decode tokens per second, and the greedy tokens of the last
# repetition.
import json
import statistics
import sys
import time

from llama_cpp import Llama

path, threads, ids, steps, reps = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
prompt = [int(t) for t in ids.split(",")]
m = Llama(model_path=path, n_ctx=512, n_threads=threads, n_threads_batch=threads, n_batch=512, logits_all=False,
          verbose=False)
prefill, decode, tokens = [], [], []
for rep in range(reps + 1):  # the first is a warm-up
    m.reset()
    t0 = time.perf_counter()
    m.eval(prompt)
    t1 = time.perf_counter()
    tokens = []
    for _ in range(steps):
        tok = int(m.scores[m.n_tokens - 1].argmax())
        tokens.append(tok)
        m.eval([tok])
    t2 = time.perf_counter()
    if rep:
        prefill.append(len(prompt) / (t1 - t0))
        decode.append(steps / (t2 - t1))
print(json.dumps({"prefill": statistics.median(prefill), "decode": statistics.median(decode), "tokens": tokens}))
