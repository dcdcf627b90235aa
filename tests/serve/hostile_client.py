"""tests/serve/hostile_client.py — the clients of test_hostile.sh.

  hostile_client.py PORT PID            the connection and request cases, then SIGTERM to PID
  hostile_client.py --damage IN OUT T   copy GGUF file IN to OUT with a NaN at the start of tensor T
  hostile_client.py --damaged PORT T    a server on such a file reports T in /health and refuses requests

Every loop is bounded in count and time, and every socket goes to 127.0.0.1."""
import http.client
import json
import os
import re
import resource
import signal
import socket
import struct
import sys
import threading
import time

failures = []


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what)
    if not cond:
        failures.append(what)


def request(port, method, path, body=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def metric(port, name):
    text = request(port, "GET", "/metrics")[1].decode()
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def closed_by_server(s, within):
    """Whether the server closes @s within @within seconds (reading what it sends)."""
    s.settimeout(0.2)
    end = time.time() + within
    while time.time() < end:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def trickle(port, first, slow):
    """Send @first at once, then @slow a byte every 0.25 s (10 s at most).
    Return: whether the server closed the connection, and when."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(first)
    t0 = time.time()
    closed = False
    for i in range(len(slow)):
        try:
            s.sendall(slow[i:i + 1])
        except OSError:
            closed = True
            break
        if closed_by_server(s, 0.25):
            closed = True
            break
        if time.time() - t0 > 10:
            break
    s.close()
    return closed, time.time() - t0


CHAT = {"messages": [{"role": "user", "content": "What is the capital of France?"}], "temperature": 0, "max_tokens": 16}


def served_quickly(port, what):
    t0 = time.time()
    status, body = request(port, "POST", "/v1/chat/completions", CHAT, timeout=30)
    check(status == 200 and "Paris" in body.decode(), f"{what}: another client is served ({time.time() - t0:.2f} s)")


def connection_cases(port, pid):
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    # Megabyte prompts: refused before tokenizing when the bytes cannot fit,
    # quickly after tokenizing when they pass that bound, never slowly.
    for what, body, path in [
        ("1 MiB of one letter", {"prompt": "a" * ((1 << 20) - 64)}, "/v1/completions"),
        ("900 KiB of spaces in a chat message",
         {"messages": [{"role": "user", "content": " " * (900 << 10)}]}, "/v1/chat/completions"),
        ("200 KiB of words", {"prompt": "word " * (40 << 10)}, "/v1/completions"),
    ]:
        t0 = time.time()
        status, data = request(port, "POST", path, body)
        err = json.loads(data).get("error", {})
        took = time.time() - t0
        check(status == 400 and err.get("code") == "context_length_exceeded" and took < 10,
              f"{what}: 400 context_length_exceeded in {took:.2f} s ({err.get('message')})")

    # 500 idle connections: others are still served, and the idle ones are
    # closed at the header deadline (3 s).
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(500)]
    time.sleep(0.3)
    check(metric(port, "strata_serve_connections") >= 500, "500 idle connections are open")
    served_quickly(port, "with 500 idle connections open")
    # 100 more reach the limit of 600; the next is told so.
    more = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
    time.sleep(0.3)
    try:
        status, data = request(port, "POST", "/v1/chat/completions", CHAT, timeout=10)
        err = json.loads(data).get("error", {})
        check(status == 503 and err.get("code") == "too_many_connections", f"past the limit: 503 ({err.get('message')})")
    except OSError as e:
        check(False, f"past the limit: a clear refusal, not {e!r}")
    t0 = time.time()
    gone = sum(closed_by_server(s, 6) for s in idle + more)
    check(gone == 600, f"the server closed {gone} of 600 idle connections at the header deadline "
                       f"({time.time() - t0:.1f} s)")
    for s in idle + more:
        s.close()
    check(metric(port, "strata_serve_connections_timed_out_total") >= 600, "the deadlines are counted")
    check(metric(port, "strata_serve_connections_refused_total") >= 1, "the refusal is counted")
    served_quickly(port, "after they were closed")

    # A kept-alive connection that idles past its deadline is closed.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/health")
    c.getresponse().read()
    check(closed_by_server(c.sock, 6), "a kept-alive connection idling past 3 s is closed")
    c.close()

    # A header sent a byte at a time (slowloris), and a body likewise.
    header = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
    closed, took = trickle(port, b"", header)
    check(closed and took < 6, f"a header sent a byte at a time is cut off ({took:.1f} s)")
    closed, took = trickle(port, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 1000\r\n\r\n", b" " * 40)
    check(closed and took < 6, f"a body sent a byte at a time is cut off ({took:.1f} s)")

    # A plain (non-streaming) request whose client leaves: its generation
    # stops, so the next client does not wait for it.
    before = metric(port, "strata_serve_cancelled_total") or 0
    long = json.dumps({"prompt": "1, 2, 3, 4, 5,", "max_tokens": 1900, "temperature": 0}).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(long)).encode() + b"\r\n\r\n" + long)
    time.sleep(0.5)
    s.close()
    served_quickly(port, "after a plain request's client left")
    check((metric(port, "strata_serve_cancelled_total") or 0) == before + 1, "its generation was cancelled")

    # SIGTERM during a long stream: the one-second drain runs out, the
    # generation is cancelled and the stream ends with an error event.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/completions", body=json.dumps(
        {"prompt": "1, 2, 3, 4, 5,", "max_tokens": 1900, "temperature": 0, "stream": True}).encode())
    r = c.getresponse()
    r.readline()
    t0 = time.time()
    os.kill(pid, signal.SIGTERM)
    rest = r.read().decode()
    took = time.time() - t0
    events = [json.loads(l[6:]) for l in rest.split("\n") if l.startswith("data: {")]
    check(events and events[-1].get("error", {}).get("code") == "server_shutting_down",
          f"the stream ends with an error event saying why ({events[-1] if events else None})")
    check(took < 5, f"the stream ended {took:.1f} s after SIGTERM (drain 1 s)")
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)


def damage(src, dst, tensor):
    """Copy GGUF @src to @dst with the first element (or block scale) of @tensor set to NaN."""
    data = bytearray(open(src, "rb").read())
    at = 24
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)

    def string(at):
        n = struct.unpack_from("<Q", data, at)[0]
        return data[at + 8:at + 8 + n].decode(), at + 8 + n

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def value(t, at):
        if t == 8:
            return string(at)
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, at)
            at += 12
            for _ in range(n):
                _, at = value(et, at)
            return None, at
        v = int.from_bytes(data[at:at + sizes[t]], "little")
        return v, at + sizes[t]

    alignment = 32
    for _ in range(n_kv):
        key, at = string(at)
        t = struct.unpack_from("<I", data, at)[0]
        v, at = value(t, at + 4)
        if key == "general.alignment":
            alignment = v
    offsets = {}
    for _ in range(n_tensors):
        name, at = string(at)
        nd = struct.unpack_from("<I", data, at)[0]
        at += 4 + 8 * nd
        dtype, off = struct.unpack_from("<IQ", data, at)
        at += 12
        offsets[name] = (dtype, off)
    base = (at + alignment - 1) // alignment * alignment
    dtype, off = offsets[tensor]
    nan = {0: b"\x00\x00\xc0\x7f", 1: b"\x00\x7e", 30: b"\xc0\x7f", 2: b"\x00\x7e", 3: b"\x00\x7e", 8: b"\x00\x7e"}[dtype]
    data[base + off:base + off + len(nan)] = nan
    open(dst, "wb").write(data)


def damaged_cases(port, tensor):
    deadline = time.time() + 30
    while time.time() < deadline:  # the load checks each tensor as it arrives
        try:
            status, data = request(port, "GET", "/health")
        except OSError:
            status, data = 0, b"{}"
        h = json.loads(data or b"{}")
        if status == 503 or h.get("load", {}).get("tensors_ready") == h.get("load", {}).get("tensors", -1):
            break
        time.sleep(0.1)
    check(status == 503 and h.get("status") == "error" and tensor in h.get("error", ""),
          f"/health: 503 naming the damaged weight ({h.get('error')})")
    status, data = request(port, "POST", "/v1/completions", {"prompt": "Hello", "max_tokens": 4})
    err = json.loads(data).get("error", {})
    check(status == 500 and err.get("code") == "model_damaged" and tensor in err.get("message", ""),
          f"a request: 500 model_damaged naming it ({err.get('message')})")


if sys.argv[1] == "--damage":
    damage(sys.argv[2], sys.argv[3], sys.argv[4])
    sys.exit(0)
if sys.argv[1] == "--damaged":
    damaged_cases(int(sys.argv[2]), sys.argv[3])
else:
    connection_cases(int(sys.argv[1]), int(sys.argv[2]))
sys.exit(1 if failures else 0)
