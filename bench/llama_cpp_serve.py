#!/usr/bin/env python3
# bench/llama_cpp_serve.py — drives llama.cpp's own binaries for serve.real
# (built by tools/build-llama-cpp.sh; standard library only).
#
#   llama_cpp_serve.py bench BIN MODEL THREADS NPROMPT STEPS REPS
#       llama-bench -r REPS (after its own warm-up): prefill of NPROMPT
#       tokens from an empty cache (pp at depth 0) and STEPS decode steps
#       after NPROMPT tokens (tg at depth NPROMPT), as bench_serve measures
#       strata.  Prints {"prefill": [tok/s per rep], "decode": [...], "cmd": ...}.
#   llama_cpp_serve.py greedy BIN MODEL THREADS STEPS IDS
#       llama-server on a free loopback port; one /completion with the prompt
#       as token ids (IDS, comma-separated), greedy (temperature 0, top_k 1),
#       n_probs 2 (the top two of a softmax over the raw logits).  Prints
#       {"tokens": [...], "top2": [[id1, logprob1, id2, logprob2], ...],
#       "stop": ...}.
#
# Either prints {"crashed": "SIGSEGV (exit 139) in llama-bench", "log": ...}
# when the binary dies of a signal, or {"error": ...} when it fails another
# way; the exit status is then 1.
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def done(obj, rc=0):
    print(json.dumps(obj), flush=True)
    sys.exit(rc)


def died(what, rc, log):
    tail = " | ".join(line.strip() for line in log.strip().splitlines()[-3:])
    if rc < 0:  # killed by a signal: report it as the shell would (128 + n)
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % -rc
        done({"crashed": "%s (exit %d) in %s" % (name, 128 - rc, what), "log": tail[-400:]}, 1)
    done({"error": "%s exited %d" % (what, rc), "log": tail[-400:]}, 1)


def bench(bin_dir, model, threads, nprompt, steps, reps):
    cmd = [os.path.join(bin_dir, "llama-bench"), "-m", model, "-t", str(threads), "-p", str(nprompt), "-n",
           str(steps), "-d", "0,%d" % nprompt, "-r", str(reps), "-o", "json"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode:
        died("llama-bench", p.returncode, p.stderr + p.stdout)
    out = {"cmd": " ".join(["llama-bench"] + cmd[3:]), "prefill": None, "decode": None}
    for t in json.loads(p.stdout):
        if t["n_prompt"] == nprompt and t["n_gen"] == 0 and t["n_depth"] == 0:
            out["prefill"] = t["samples_ts"]
        elif t["n_prompt"] == 0 and t["n_gen"] == steps and t["n_depth"] == nprompt:
            out["decode"] = t["samples_ts"]
    if not out["prefill"] or not out["decode"]:
        done({"error": "llama-bench printed no pp%d/tg%d@d%d result" % (nprompt, steps, nprompt)}, 1)
    done(out)


def pp(bin_dir, model, threads, sizes, reps):
    """llama-bench's prefill alone at each prompt size: {"pp": {"8": [tokens/s, ...], ...}}."""
    cmd = [os.path.join(bin_dir, "llama-bench"), "-m", model, "-t", str(threads), "-p", sizes, "-n", "0",
           "-r", str(reps), "-o", "json"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode:
        died("llama-bench", p.returncode, p.stderr + p.stdout)
    out = {"cmd": " ".join(["llama-bench"] + cmd[3:]), "pp": {}}
    for t in json.loads(p.stdout):
        if t["n_gen"] == 0 and t["n_prompt"] > 0:
            out["pp"][str(t["n_prompt"])] = t["samples_ts"]
    if len(out["pp"]) != len(sizes.split(",")):
        done({"error": "llama-bench printed pp results for %s, not %s" % (sorted(out["pp"]), sizes)}, 1)
    done(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, timeout):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def greedy(bin_dir, model, threads, steps, ids):
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    cmd = [os.path.join(bin_dir, "llama-server"), "-m", model, "-t", str(threads), "-tb", str(threads), "-c", "512",
           "-np", "1", "--host", "127.0.0.1", "--port", str(port), "--no-webui"]
    srv = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def server_died():
        log.seek(0)
        died("llama-server", srv.returncode, log.read())

    try:
        url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 120
        while True:  # /health answers 200 once the model is loaded
            if srv.poll() is not None:
                server_died()
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                done({"error": "llama-server did not become ready in 120 s"}, 1)
            time.sleep(0.2)
        body = {"prompt": ids, "n_predict": steps, "temperature": 0, "top_k": 1, "seed": 0, "n_probs": 2,
                "return_tokens": True, "cache_prompt": False, "stream": False}
        try:
            r = post(url + "/completion", body, 300)
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            time.sleep(0.5)
            if srv.poll() is not None:
                server_died()
            done({"error": "POST /completion: %s" % e}, 1)
        top2 = []
        for step in r.get("completion_probabilities", []):
            t = step.get("top_logprobs", [])
            row = []
            for e in t[:2]:
                row += [e["id"], e["logprob"]]
            top2.append(row)
        done({"tokens": r.get("tokens", []), "top2": top2, "stop": r.get("stop_type"),
              "prompt_n": r.get("timings", {}).get("prompt_n")})
    finally:
        if srv.poll() is None:
            srv.terminate()
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()


def main():
    if len(sys.argv) == 8 and sys.argv[1] == "bench":
        bench(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
    elif len(sys.argv) == 7 and sys.argv[1] == "pp":
        pp(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    elif len(sys.argv) == 7 and sys.argv[1] == "greedy":
        greedy(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), [int(t) for t in sys.argv[6].split(",")])
    else:
        sys.stderr.write("usage: llama_cpp_serve.py bench BIN MODEL THREADS NPROMPT STEPS REPS\n"
                         "       llama_cpp_serve.py pp BIN MODEL THREADS SIZES REPS   (SIZES: 8,64,512)\n"
                         "       llama_cpp_serve.py greedy BIN MODEL THREADS STEPS IDS\n")
        sys.exit(2)


if __name__ == "__main__":
    try:
        main()
    except subprocess.TimeoutExpired as e:
        done({"error": "%s timed out" % os.path.basename(e.cmd[0])}, 1)
