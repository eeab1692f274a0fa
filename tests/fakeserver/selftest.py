#!/usr/bin/env python3
"""Quick self-test of fake_openai.py (standard library only).  Exit 0 = all checks passed.

    python3 tests/fakeserver/selftest.py
"""
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_openai.py")
PROBLEMS = [
    {"id": "p1", "problem": "What is 6 times 7?", "answer": "42"},
    {"id": "p2", "problem": "What is 6 times 7 plus 1?", "answer": "43"},
    {"id": "p3", "problem": "Name the golden ratio.", "answer": "phi"},
]
PIECE_RE = re.compile(r"\s*\S+|\s+")
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


class Fake:
    """The server as a subprocess on port 0."""

    def __init__(self, tmp, *extra):
        self.port_file = os.path.join(tmp, "port%d" % len(os.listdir(tmp)))
        self.log = self.port_file + ".log"
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--dataset", os.path.join(tmp, "data.jsonl"),
             "--port", "0", "--port-file", self.port_file, "--log", self.log,
             "--lifetime-s", "60", *extra], stdout=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(self.port_file):
                break
            time.sleep(0.05)
        self.port = int(open(self.port_file).read())
        self.base = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)

    def req(self, path, body=None, raw=None):
        """(status, headers, body bytes); body is JSON-encoded unless raw bytes given."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        r = urllib.request.Request(self.base + path, data=data,
                                   headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path, body=None):
        st, _, data = self.req(path, body)
        return st, json.loads(data)


def chat_body(seed, max_tokens=4096, stream=False, usage=False, content=None):
    b = {"model": "fake-model", "seed": seed, "max_tokens": max_tokens, "temperature": 0.7,
         "messages": [{"role": "user", "content": content or
                       "Solve: What is 6 times 7? Put the answer in \\boxed{}."}]}
    if stream:
        b["stream"] = True
        if usage:
            b["stream_options"] = {"include_usage": True}
    return b


def parse_sse(data):
    """SSE bytes -> list of data payloads (str); accepts \\n and \\r\\n line endings."""
    out = []
    for line in data.decode().replace("\r\n", "\n").split("\n"):
        if line.startswith("data: "):
            out.append(line[6:])
    return out


def stream_text(payloads):
    """Joined reasoning, content, text, finish_reason, usage from stream payloads."""
    r = c = t = ""
    finish = usage = None
    for p in payloads:
        if p == "[DONE]":
            continue
        o = json.loads(p)
        if o.get("usage"):
            usage = o["usage"]
        for ch in o["choices"]:
            d = ch.get("delta", {})
            r += d.get("reasoning_content") or ""
            c += d.get("content") or ""
            t += ch.get("text") or ""
            finish = ch.get("finish_reason") or finish
    return r, c, t, finish, usage


def body_with_kind(kinds, want, maker):
    """A request body whose fault key selects `want` from kinds (see the server)."""
    for seed in range(1000):
        raw = json.dumps(maker(seed)).encode()
        key = hashlib.sha256(raw).hexdigest()
        if kinds[int(key[8:16], 16) % len(kinds)] == want:
            return raw
    raise RuntimeError("no body for " + want)


def main():
    tmp = tempfile.mkdtemp(prefix="fakeoai-")
    with open(os.path.join(tmp, "data.jsonl"), "w") as f:
        f.write("".join(json.dumps(p) + "\n" for p in PROBLEMS))

    s = Fake(tmp)
    try:
        line = s.proc.stdout.readline().decode()
        check(line == "PORT %d\n" % s.port, "PORT line on stdout and port file agree")
        st, m = s.json("/v1/models")
        check(st == 200 and m["data"][0]["id"] == "fake-model", "/v1/models")

        # Non-streaming chat: split, usage, determinism.
        st, a = s.json("/v1/chat/completions", chat_body(1))
        msg = a["choices"][0]["message"]
        check(st == 200 and a["object"] == "chat.completion", "chat non-streaming 200")
        check(msg["reasoning_content"].endswith("so the answer is " + re.search(
            r"\\boxed\{(.*)\}", msg["content"]).group(1)), "reasoning/content split")
        check(msg["content"].startswith("\n\nThe final answer is \\boxed{"), "content text")
        prompt = "<|user|>\nSolve: What is 6 times 7? Put the answer in \\boxed{}.\n<|assistant|>\n"
        full = "<think>" + msg["reasoning_content"] + "</think>" + msg["content"]
        u = a["usage"]
        check(u["prompt_tokens"] == len(PIECE_RE.findall(prompt))
              and u["completion_tokens"] == len(PIECE_RE.findall(full))
              and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], "usage")
        check(a["choices"][0]["finish_reason"] == "stop", "finish_reason stop")
        _, a2 = s.json("/v1/chat/completions", chat_body(1))
        _, b = s.json("/v1/chat/completions", chat_body(2))
        check(a2["choices"] == a["choices"], "same seed -> same completion")
        check(b["choices"] != a["choices"], "other seed -> different completion")
        answers = [re.search(r"\\boxed\{(.*)\}", s.json("/v1/chat/completions", chat_body(i))[1]
                             ["choices"][0]["message"]["content"]).group(1) for i in range(40)]
        check(10 <= answers.count("42") <= 30 and set(answers) <= {str(42 + k) for k in
              (-3, -2, -1, 0, 1, 2, 3)}, "fresh answers: ~p-correct gold, else gold+-k")
        agg = "What is 6 times 7? Candidates: \\boxed{40} ... \\boxed{{5}} ... \\boxed{40}"
        answers = [re.search(r"\\boxed\{(.*)\}", s.json("/v1/chat/completions",
                   chat_body(i, content=agg))[1]["choices"][0]["message"]["content"]).group(1)
                   for i in range(40)]
        check(answers.count("40") >= 25, "aggregation follows the majority boxed answer")

        # Streaming chat: raw bytes reassemble into the non-streaming result.
        st, hdr, data = s.req("/v1/chat/completions", chat_body(1, stream=True, usage=True))
        pl = parse_sse(data)
        r, c, _, fin, usage = stream_text(pl)
        check(st == 200 and hdr["Content-Type"].startswith("text/event-stream"), "stream 200 SSE")
        check(json.loads(pl[0])["choices"][0]["delta"].get("role") == "assistant", "role chunk")
        check((r, c, fin) == (msg["reasoning_content"], msg["content"], "stop"),
              "stream text == non-stream text")
        check(pl[-1] == "[DONE]" and json.loads(pl[-2])["choices"] == [] and usage == u,
              "include_usage chunk then [DONE]")
        _, _, d2 = s.req("/v1/chat/completions", chat_body(1, stream=True))
        check(all(json.loads(p).get("choices") for p in parse_sse(d2)[:-1]), "no usage chunk by default")
        eols = set()
        for i in range(12):
            raw = s.req("/v1/chat/completions", chat_body(i, stream=True))[2]
            eols |= {"crlf" if b"\r\n\r\n" in raw else None,
                     "lf" if re.search(rb"[^\r]\n\n", raw) else None}
        check({"crlf", "lf"} <= eols, "both \\n and \\r\\n event framing occur")

        # Completions API (no split), streaming and not.
        cb = {"model": "fake-model", "prompt": "Q: What is 6 times 7?\nA:", "seed": 5,
              "max_tokens": 500}
        st, cr = s.json("/v1/completions", cb)
        ctext = cr["choices"][0]["text"]
        check(st == 200 and cr["object"] == "text_completion" and ctext.startswith("<think>"),
              "completions non-streaming")
        _, _, data = s.req("/v1/completions", dict(cb, stream=True))
        check(stream_text(parse_sse(data))[2] == ctext, "completions stream text == text")

        # Truncation.
        _, t = s.json("/v1/chat/completions", chat_body(1, max_tokens=10))
        tm = t["choices"][0]
        check(tm["finish_reason"] == "length" and t["usage"]["completion_tokens"] == 10
              and tm["message"]["content"] is None
              and full.startswith("<think>" + tm["message"]["reasoning_content"]),
              "max_tokens truncation -> length, content null")
        _, _, data = s.req("/v1/chat/completions", chat_body(1, max_tokens=10, stream=True))
        r, c, _, fin, _ = stream_text(parse_sse(data))
        check((r, c, fin) == (tm["message"]["reasoning_content"], "", "length"),
              "truncated stream: reasoning only")

        # /tokenize and /detokenize.
        st, tk = s.json("/tokenize", {"model": "fake-model", "prompt": full})
        check(st == 200 and tk["count"] == len(tk["tokens"]) == len(PIECE_RE.findall(full))
              and tk["max_model_len"] == 131072, "/tokenize")
        st, dt = s.json("/detokenize", {"model": "fake-model", "tokens": tk["tokens"][-5:]})
        check(st == 200 and full.endswith(dt["prompt"]) and dt["prompt"], "detokenize tail")
        st, dt = s.json("/detokenize", {"model": "fake-model", "tokens": tk["tokens"]})
        check(dt["prompt"] == full, "detokenize round trip")
        st, _ = s.json("/detokenize", {"model": "fake-model", "tokens": [0x3fffffff, 7]})
        check(st == 400, "detokenize unknown id -> 400")

        # Errors.
        nb = chat_body(1)
        del nb["seed"]
        st, e = s.json("/v1/chat/completions", nb)
        check(st == 400 and e["error"]["type"] == "BadRequestError" and e["error"]["code"] == 400,
              "missing seed -> 400")
        st, e = s.json("/v1/chat/completions", {k: v for k, v in chat_body(1).items() if k != "model"})
        check(st == 400, "missing model -> 400")
        st, e = s.json("/v1/chat/completions", dict(chat_body(1), model="nope"))
        check(st == 404 and e["error"]["code"] == 404, "unknown model -> 404")
        st, _, _ = s.req("/v1/chat/completions", raw=b"{not json")
        check(st == 400, "bad JSON -> 400")
        st, e = s.json("/v2/whatever")
        check(st == 404 and e == {"detail": "Not Found"}, "unknown path -> 404")

        # Keep-alive: two requests on one connection.
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        conn.request("GET", "/v1/models")
        r1 = conn.getresponse().read()
        sock1 = conn.sock
        conn.request("POST", "/v1/chat/completions", json.dumps(chat_body(3)),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        check(resp.status == 200 and conn.sock is sock1 and json.loads(r1) and json.loads(resp.read()),
              "keep-alive reuse")
        conn.close()
        log = [json.loads(x) for x in open(s.log)]
        check(any(x["path"] == "/v1/chat/completions" and x["body"] and x["body"]["seed"] == 1
                  and x["status"] == 200 for x in log), "request log")
        check(s.stop() == 0, "SIGTERM -> exit 0")
    finally:
        if s.proc.poll() is None:
            s.proc.kill()

    # --no-tokenize.
    s = Fake(tmp, "--no-tokenize")
    st, e = s.json("/tokenize", {"model": "fake-model", "prompt": "x"})
    st2, _ = s.json("/detokenize", {"model": "fake-model", "tokens": []})
    check(st == 404 and st2 == 404 and e == {"detail": "Not Found"}, "--no-tokenize -> 404")
    s.stop()

    # Faults: 429 then success of the identical body.
    s = Fake(tmp, "--fault-rate", "1.0", "--faults", "429")
    raw = json.dumps(chat_body(9)).encode()
    st, hdr, data = s.req("/v1/chat/completions", raw=raw)
    check(st == 429 and hdr["Retry-After"] == "1" and json.loads(data)["error"]["code"] == 429,
          "fault 429 with Retry-After")
    st, _, data = s.req("/v1/chat/completions", raw=raw)
    check(st == 200 and json.loads(data)["choices"], "retry of the identical body succeeds")
    s.stop()
    log = [json.loads(x) for x in open(s.log)]
    check([(x["fault"], x["attempt"], x["status"]) for x in log] == [("429", 1, 429), (None, 2, 200)],
          "fault log")

    # Every other fault kind, streaming and not.
    kinds = ["500", "429", "drop", "badjson", "sse-error"]
    s = Fake(tmp, "--fault-rate", "1.0", "--reasoning-field", "reasoning")
    raw = body_with_kind(kinds, "500", chat_body)
    check(s.req("/v1/chat/completions", raw=raw)[0] == 500, "fault 500")
    raw = body_with_kind(kinds, "drop", chat_body)
    try:
        s.req("/v1/chat/completions", raw=raw)
        check(False, "fault drop (non-stream)")
    except (http.client.HTTPException, ConnectionError, OSError):
        check(True, "fault drop (non-stream)")
    st, _, data = s.req("/v1/chat/completions", raw=body_with_kind(kinds, "badjson", chat_body))
    try:
        json.loads(data)
        check(False, "fault badjson (non-stream)")
    except ValueError:
        check(st == 200, "fault badjson (non-stream)")

    def sb(seed):
        return chat_body(seed, stream=True)
    try:
        st, _, data = s.req("/v1/chat/completions", raw=body_with_kind(kinds, "drop", sb))
        ok = st == 200 and b"[DONE]" not in data
    except (http.client.HTTPException, ConnectionError, OSError):
        ok = True  # urllib may see the cut-off body as IncompleteRead; either is fine
    check(ok, "fault drop (stream): no [DONE]")
    st, hdr, _ = s.req("/v1/chat/completions", raw=body_with_kind(kinds, "429", sb))
    st2, _, _ = s.req("/v1/chat/completions", raw=body_with_kind(kinds, "500", sb))
    check(st == 429 and hdr["Retry-After"] == "1" and st2 == 500, "faults 429/500 (stream)")
    st, _, data = s.req("/v1/chat/completions", raw=body_with_kind(kinds, "badjson", sb))
    bad = 0
    for p in parse_sse(data)[:-1]:
        try:
            json.loads(p)
        except ValueError:
            bad += 1
    check(st == 200 and bad == 1, "fault badjson (stream)")
    st, _, data = s.req("/v1/chat/completions", raw=body_with_kind(kinds, "sse-error", sb))
    pl = parse_sse(data)
    check(st == 200 and json.loads(pl[-2])["error"]["code"] == 500, "fault sse-error")
    st, _, data = s.req("/v1/chat/completions", raw=body_with_kind(kinds, "sse-error", sb))
    r = "".join(json.loads(p)["choices"][0]["delta"].get("reasoning", "")
                for p in parse_sse(data)[:-1])
    check(st == 200 and r.startswith("w"), "second attempt streams; --reasoning-field reasoning")
    st, _ = s.json("/tokenize", {"prompt": "a b"})
    check(st == 200, "no faults on /tokenize")
    s.stop()

    # Bounded lifetime and request count.
    s = Fake(tmp, "--max-requests", "2")
    s.json("/v1/models")
    s.json("/v1/models")
    check(s.proc.wait(10) == 0, "--max-requests stops the server")
    t0 = time.time()
    s = Fake(tmp, "--lifetime-s", "1")   # later flags win with argparse
    check(s.proc.wait(10) == 0 and time.time() - t0 < 8, "--lifetime-s stops the server")
    r = subprocess.run([sys.executable, SERVER, "--dataset", "x", "--host", "0.0.0.0"],
                       capture_output=True)
    check(r.returncode != 0, "non-loopback --host refused")

    print("%d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
