#!/usr/bin/env python3
"""Deterministic fake OpenAI-compatible server (vLLM-shaped) for integration tests.

Standard library only.  It serves /v1/models, /v1/chat/completions, /v1/completions
(streaming and not), /tokenize, /detokenize and /health on 127.0.0.1, answers with a
fake "model" that is a pure function of (prompt text, seed, max_tokens), can inject
faults deterministically (keyed by the request body) and logs every request as one
JSON line, so tests can check exactly what the C client sent.

    python3 tests/fakeserver/fake_openai.py --dataset data.jsonl --port 0 --port-file p

See tests/fakeserver/README.md for the full command line and behaviour.
"""
import argparse
import hashlib
import json
import os
import random
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PIECE_RE = re.compile(r"\s*\S+|\s+")       # fake tokenizer: whitespace-prefixed words
FAULT_KINDS = ("500", "429", "drop", "badjson", "sse-error")
MAX_BODY = 64 << 20                         # refuse request bodies above 64 MiB
MAX_MODEL_LEN = 131072
JSON_SEP = (",", ":")                       # compact, like pydantic / FastAPI output


def dumps(obj):
    return json.dumps(obj, separators=JSON_SEP, ensure_ascii=False)


def sha256_int(text, nbytes):
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:nbytes], "big")


def error_body(status, message, etype, param=None):
    return {"error": {"message": message, "type": etype, "param": param, "code": status}}


class RequestError(Exception):
    """A client error turned into an OpenAI-style error response."""

    def __init__(self, status, message, etype="BadRequestError", param=None):
        super().__init__(message)
        self.status, self.body = status, error_body(status, message, etype, param)


# --------------------------------------------------------------------------- tokenizer
class Tokenizer:
    """Pieces are runs of optional whitespace then non-whitespace; ids are hashes.

    Every encode() records id -> piece so /detokenize can invert ids it has seen.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._vocab = {}

    @staticmethod
    def piece_id(piece):
        return sha256_int(piece, 4) & 0x3FFFFFFF

    def encode(self, text):
        pieces = PIECE_RE.findall(text)
        ids = [self.piece_id(p) for p in pieces]
        with self._lock:
            for i, p in zip(ids, pieces):
                self._vocab.setdefault(i, p)
        return pieces, ids

    def decode(self, ids):
        with self._lock:
            missing = [i for i in ids if i not in self._vocab]
            if missing:
                raise KeyError(missing[0])
            return "".join(self._vocab[i] for i in ids)


# --------------------------------------------------------------------------- fake model
def extract_boxed(text):
    """Contents of every brace-matched \\boxed{...} in text (unbalanced ones skipped)."""
    out, pos = [], 0
    while True:
        start = text.find("\\boxed{", pos)
        if start < 0:
            return out
        i, depth = start + len("\\boxed{"), 1
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append(text[start + len("\\boxed{"):i - 1])
        pos = start + 1


def majority(answers):
    """Most common answer; ties go to the one that appears first."""
    counts = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    best = max(counts.values())
    return next(a for a in answers if counts[a] == best)


class Generation:
    def __init__(self, text, finish_reason, prompt_tokens, pieces):
        self.text, self.finish_reason = text, finish_reason
        self.prompt_tokens, self.pieces = prompt_tokens, pieces


class FakeModel:
    def __init__(self, problems, args, tokenizer):
        self.problems, self.args, self.tok = problems, args, tokenizer

    def gold_for(self, prompt):
        best = None
        for p in self.problems:
            if p["problem"] and p["problem"] in prompt:
                if best is None or len(p["problem"]) > len(best["problem"]):
                    best = p
        return best["answer"] if best else "0"

    def fresh_answer(self, rng, gold):
        if rng.random() < self.args.p_correct:
            return gold
        k = rng.choice([-3, -2, -1, 1, 2, 3])
        g = gold.strip()
        return str(int(g) + k) if re.fullmatch(r"[+-]?\d+", g) else gold + "x"

    def generate(self, prompt, seed, max_tokens):
        rng = random.Random(sha256_int(prompt + "\x00" + str(seed), 8))
        gold = self.gold_for(prompt)
        # Empty \boxed{} (e.g. "put the answer in \boxed{}") is an instruction, not a candidate.
        boxed = [b.strip() for b in extract_boxed(prompt) if b.strip()]
        if boxed and rng.random() < self.args.p_follow:
            ans = majority(boxed)
        else:
            ans = self.fresh_answer(rng, gold)
        words = []
        for i in range(rng.randint(self.args.min_words, self.args.max_words)):
            if i:
                words.append("\n" if rng.random() < 0.05 else " ")
            words.append("w%d" % rng.randrange(1000))
        reasoning = "".join(words) + " so the answer is " + ans
        completion = ("<think>" + reasoning + "</think>"
                      + "\n\nThe final answer is \\boxed{" + ans + "}.")
        pieces, _ = self.tok.encode(completion)
        finish = "stop"
        if len(pieces) > max_tokens:
            pieces, finish = pieces[:max_tokens], "length"
        prompt_tokens = len(self.tok.encode(prompt)[0])
        return Generation("".join(pieces), finish, prompt_tokens, pieces)


def reasoning_spans(text):
    """Character spans (reasoning, content) like vLLM's qwen3 reasoning parser.

    content is None when the text was cut before </think>."""
    r0 = len("<think>") if text.startswith("<think>") else 0
    end = text.find("</think>", r0)
    if end < 0:
        return (r0, len(text)), None
    return (r0, end), (end + len("</think>"), len(text))


def render_chat(messages):
    """The fake chat template: <|role|>\\ncontent\\n per message, then <|assistant|>\\n."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):   # OpenAI content parts: keep the text parts
            content = "".join(p.get("text", "") for p in content
                              if isinstance(p, dict) and p.get("type") == "text")
        out.append("<|" + m["role"] + "|>\n" + (content or "") + "\n")
    return "".join(out) + "<|assistant|>\n"


# --------------------------------------------------------------------------- server state
class State:
    def __init__(self, args, model, tok):
        self.args, self.model, self.tok = args, model, tok
        self.kinds = [k.strip() for k in args.faults.split(",") if k.strip()]
        self.lock = threading.Lock()
        self.attempts = {}
        self.requests = 0
        self.stop = threading.Event()
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None

    def next_attempt(self, key):
        with self.lock:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            return self.attempts[key]

    def fault_for(self, key, attempt):
        if not self.kinds or attempt > self.args.fault_attempts:
            return None
        if int(key[:8], 16) / 2**32 >= self.args.fault_rate:
            return None
        return self.kinds[int(key[8:16], 16) % len(self.kinds)]

    def log(self, entry):
        if self.log_file:
            line = json.dumps(entry, ensure_ascii=False) + "\n"
            with self.lock:
                self.log_file.write(line)
                self.log_file.flush()

    def count_request(self):
        with self.lock:
            self.requests += 1
            if self.requests >= self.args.max_requests:
                self.stop.set()


# --------------------------------------------------------------------------- SSE writer
class SSEWriter:
    """Writes `data:` events with deliberately awkward framing.

    Line endings are \\n or \\r\\n (per request, or mixed per event), and the bytes are
    written in random slices, sometimes holding back a tail until the next event, so a
    client sees partial lines and JSON split across reads."""

    def __init__(self, wfile, rng):
        self.wfile, self.rng, self.pending = wfile, rng, b""
        self.mode = rng.randrange(3)            # 0: \n  1: \r\n  2: mixed per event

    def _eol(self):
        if self.mode == 2:
            return "\r\n" if self.rng.random() < 0.5 else "\n"
        return "\r\n" if self.mode == 1 else "\n"

    def event(self, payload, hold=True):
        eol = self._eol()
        self.pending += ("data: " + payload + eol + eol).encode("utf-8", "replace")
        keep = 0
        if hold and len(self.pending) > 2 and self.rng.random() < 0.5:
            keep = self.rng.randint(1, min(len(self.pending) - 1, 48))
        self._write(self.pending[:len(self.pending) - keep])
        self.pending = self.pending[len(self.pending) - keep:]

    def raw(self, data):
        self._write(self.pending + data)
        self.pending = b""

    def flush(self):
        self.raw(b"")

    def _write(self, data):
        while data:
            n = self.rng.randint(1, max(1, min(len(data), 64)))
            if self.rng.random() < 0.3:
                n = len(data)
            self.wfile.write(data[:n])
            self.wfile.flush()
            data = data[n:]
            if data and self.rng.random() < 0.1:
                time.sleep(0.001)           # let the client read a partial line


# --------------------------------------------------------------------------- HTTP handler
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"           # keep-alive for Content-Length responses
    server_version = "fake-vllm/1.0"
    sys_version = ""
    timeout = 5                             # idle keep-alive timeout (uvicorn default)

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):      # quiet; the --log file is the record
        pass

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    # -- plumbing ---------------------------------------------------------------
    def _dispatch(self, method):
        st = self.server.state
        self.entry = {"path": self.path, "status": None, "body": None, "fault": None,
                      "attempt": None}
        self.headers_sent = False
        try:
            self._route(method, self.path.split("?", 1)[0])
        except RequestError as e:
            self._send_json(e.status, e.body)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        except Exception:                   # never let a handler thread die silently
            traceback.print_exc()
            self.close_connection = True
            if not self.headers_sent:
                try:
                    self._send_json(500, error_body(500, "internal fake-server error",
                                                    "InternalServerError"))
                except OSError:
                    pass
        finally:
            st.log(self.entry)
            st.count_request()

    def _start(self, status, headers):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.headers_sent = True
        self.entry["status"] = status

    def _send_bytes(self, status, data, ctype="application/json", extra=()):
        self._start(status, [("Content-Type", ctype), ("Content-Length", str(len(data)))]
                    + list(extra))
        self.wfile.write(data)
        self.wfile.flush()

    def _send_json(self, status, obj, extra=()):
        self._send_bytes(status, dumps(obj).encode("utf-8", "replace"), extra=extra)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                try:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    self.close_connection = True
                    raise RequestError(400, "malformed chunked request body")
                if size == 0:
                    while self.rfile.readline().strip():   # trailers
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY:
                    break
        else:
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.close_connection = True
                raise RequestError(400, "invalid Content-Length")
            if n <= MAX_BODY:
                return self.rfile.read(n)
        self.close_connection = True
        raise RequestError(413, "request body too large")

    def _json_body(self, raw):
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise RequestError(400, "invalid JSON body: %s" % e)
        self.entry["body"] = body
        if not isinstance(body, dict):
            raise RequestError(400, "request body must be a JSON object")
        return body

    # -- routing ------------------------------------------------------------------
    def _route(self, method, path):
        st = self.server.state
        raw = self._read_body() if method == "POST" else b""
        routes = {"/v1/models": "GET", "/health": "GET", "/v1/chat/completions": "POST",
                  "/v1/completions": "POST", "/tokenize": "POST", "/detokenize": "POST"}
        if path in ("/tokenize", "/detokenize") and st.args.no_tokenize:
            routes.pop(path)
        if path not in routes:
            return self._send_json(404, {"detail": "Not Found"})
        if routes[path] != method:
            return self._send_json(405, {"detail": "Method Not Allowed"})
        if path == "/health":
            return self._send_bytes(200, b"")
        if path == "/v1/models":
            return self._send_json(200, {"object": "list", "data": [
                {"id": st.args.model, "object": "model", "created": int(time.time()),
                 "owned_by": "fake", "max_model_len": MAX_MODEL_LEN}]})
        if path == "/tokenize":
            return self._tokenize(self._json_body(raw))
        if path == "/detokenize":
            return self._detokenize(self._json_body(raw))
        return self._completion(raw, chat=(path == "/v1/chat/completions"))

    def _check_model(self, body, required):
        model = body.get("model")
        if model is None and not required:
            return
        if not isinstance(model, str):
            raise RequestError(400, "'model' is required and must be a string", param="model")
        if model != self.server.state.args.model:
            raise RequestError(404, "The model `%s` does not exist." % model,
                               "NotFoundError", "model")

    def _tokenize(self, body):
        if "messages" in body:
            text = render_chat(self._messages(body))
        elif isinstance(body.get("prompt"), str):
            text = body["prompt"]
        else:
            raise RequestError(400, "'prompt' must be a string", param="prompt")
        self._check_model(body, required=False)
        _, ids = self.server.state.tok.encode(text)
        self._send_json(200, {"count": len(ids), "max_model_len": MAX_MODEL_LEN,
                              "tokens": ids})

    def _detokenize(self, body):
        ids = body.get("tokens")
        if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise RequestError(400, "'tokens' must be a list of integers", param="tokens")
        self._check_model(body, required=False)
        try:
            text = self.server.state.tok.decode(ids)
        except KeyError as e:
            raise RequestError(400, "token id %s out of vocabulary" % e.args[0],
                               param="tokens")
        self._send_json(200, {"prompt": text})

    @staticmethod
    def _messages(body):
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise RequestError(400, "'messages' must be a non-empty list", param="messages")
        for m in msgs:
            if not (isinstance(m, dict) and isinstance(m.get("role"), str)
                    and isinstance(m.get("content"), (str, list, type(None)))):
                raise RequestError(400, "each message needs a string 'role' and 'content'",
                                   param="messages")
        return msgs

    @staticmethod
    def _int_field(body, name, minimum=None):
        v = body.get(name)
        if v is None:
            raise RequestError(400, "'%s' is required (fake server policy)" % name, param=name)
        if not isinstance(v, int) or isinstance(v, bool) or (minimum is not None and v < minimum):
            raise RequestError(400, "'%s' must be an integer%s" % (
                name, "" if minimum is None else " >= %d" % minimum), param=name)
        return v

    # -- completions --------------------------------------------------------------------
    def _completion(self, raw, chat):
        st = self.server.state
        key = hashlib.sha256(raw).hexdigest()
        attempt = st.next_attempt(key)
        self.entry["attempt"] = attempt
        body = self._json_body(raw)
        # Validation (400s) first, like pydantic in vLLM; then the model name (404).
        if "model" not in body:
            raise RequestError(400, "'model' is required", param="model")
        if chat:
            prompt = render_chat(self._messages(body))
        else:
            prompt = body.get("prompt")
            if isinstance(prompt, list) and len(prompt) == 1:
                prompt = prompt[0]
            if not isinstance(prompt, str):
                raise RequestError(400, "'prompt' must be a string", param="prompt")
        seed = self._int_field(body, "seed")
        max_tokens = self._int_field(body, "max_tokens", 1)
        temp = body.get("temperature")
        if temp is not None and (isinstance(temp, bool) or not isinstance(temp, (int, float))
                                 or temp < 0):
            raise RequestError(400, "'temperature' must be a number >= 0", param="temperature")
        if body.get("n", 1) != 1:
            raise RequestError(400, "only n=1 is supported", param="n")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise RequestError(400, "'stream' must be a boolean", param="stream")
        sopts = body.get("stream_options")
        if sopts is not None and (not isinstance(sopts, dict) or not stream):
            raise RequestError(400, "Stream options can only be defined when `stream=True`.",
                               param="stream_options")
        include_usage = bool((sopts or {}).get("include_usage"))
        self._check_model(body, required=True)

        fault = st.fault_for(key, attempt)
        self.entry["fault"] = fault
        gen = st.model.generate(prompt, seed, max_tokens)
        prefix = "chatcmpl-" if chat else "cmpl-"
        meta = {"id": prefix + key[:32], "created": int(time.time()), "model": st.args.model}
        rng = random.Random(sha256_int("%d\x00%s\x00%d" % (st.args.chunk_seed, key, attempt), 8))
        if fault == "500" or (fault == "sse-error" and not stream):
            return self._send_json(500, error_body(500, "injected fault", "InternalServerError"))
        if fault == "429":
            return self._send_json(429, error_body(429, "injected rate limit", "RateLimitError"),
                                   extra=[("Retry-After", "1")])
        if stream:
            return self._stream(gen, chat, meta, include_usage, fault, rng)
        if fault == "drop":
            self.close_connection = True    # close without writing a single byte
            return
        resp = self._full_response(gen, chat, meta)
        if fault == "badjson":
            data = dumps(resp).encode()
            return self._send_bytes(200, data[:rng.randint(len(data) // 3, 2 * len(data) // 3)])
        self._send_json(200, resp)

    def _usage(self, gen):
        c = len(gen.pieces)
        return {"prompt_tokens": gen.prompt_tokens, "completion_tokens": c,
                "total_tokens": gen.prompt_tokens + c}

    def _full_response(self, gen, chat, meta):
        choice = {"index": 0}
        if chat:
            msg = {"role": "assistant", "content": gen.text}
            field = self.server.state.args.reasoning_field
            if field != "none":
                rspan, cspan = reasoning_spans(gen.text)
                msg[field] = gen.text[rspan[0]:rspan[1]] or None
                msg["content"] = (gen.text[cspan[0]:cspan[1]] if cspan else "") or None
            msg["tool_calls"] = []
            choice["message"] = msg
        else:
            choice["text"] = gen.text
        choice.update({"logprobs": None, "finish_reason": gen.finish_reason,
                       "stop_reason": None})
        obj = "chat.completion" if chat else "text_completion"
        return {"id": meta["id"], "object": obj, "created": meta["created"],
                "model": meta["model"], "choices": [choice], "usage": self._usage(gen)}

    def _stream_chunks(self, gen, chat, meta, include_usage, rng):
        """The stream's JSON objects (without [DONE]); is_delta marks the ones to drip."""
        field = self.server.state.args.reasoning_field
        obj = "chat.completion.chunk" if chat else "text_completion"

        def chunk(key, val, finish=None):
            choice = {"index": 0, key: val, "logprobs": None, "finish_reason": finish}
            if finish:
                choice["stop_reason"] = None
            return {"id": meta["id"], "object": obj, "created": meta["created"],
                    "model": meta["model"], "choices": [choice]}

        out = []
        if chat:    # vLLM's first chunk: the role with an empty content
            out.append((chunk("delta", {"role": "assistant", "content": ""}), False))
        rspan, cspan = reasoning_spans(gen.text)
        pos, i = 0, 0
        while i < len(gen.pieces):
            k = rng.randint(1, 4)
            group = "".join(gen.pieces[i:i + k])
            a, b = pos, pos + len(group)
            pos, i = b, i + k
            finish = gen.finish_reason if i >= len(gen.pieces) else None
            if not chat:
                out.append((chunk("text", group, finish), True))
                continue
            delta = {}
            if field == "none":
                delta["content"] = group
            else:
                for name, span in ((field, rspan), ("content", cspan)):
                    if span and min(b, span[1]) > max(a, span[0]):
                        delta[name] = gen.text[max(a, span[0]):min(b, span[1])]
            out.append((chunk("delta", delta, finish), True))
        if include_usage:
            out.append(({"id": meta["id"], "object": obj, "created": meta["created"],
                         "model": meta["model"], "choices": [], "usage": self._usage(gen)},
                        False))
        return out

    def _stream(self, gen, chat, meta, include_usage, fault, rng):
        st = self.server.state
        self.close_connection = True        # stream ends at EOF: Connection: close
        self._start(200, [("Content-Type", "text/event-stream; charset=utf-8"),
                          ("Cache-Control", "no-cache"), ("Connection", "close")])
        chunks = self._stream_chunks(gen, chat, meta, include_usage, rng)
        w = SSEWriter(self.wfile, rng)
        delay = st.args.token_delay_ms / 1000.0
        # On a fault only a prefix of the stream is sent (never all of it).
        n = len(chunks)
        if fault in ("drop", "badjson", "sse-error"):
            n = min(rng.randint(0 if fault == "sse-error" else 1, 2), len(chunks) - 1)
        for obj, is_delta in chunks[:n]:
            w.event(dumps(obj))
            if is_delta and delay:
                w.flush()
                time.sleep(delay)
        if fault == "drop":                 # abrupt EOF, possibly in the middle of an event
            nxt = ("data: " + dumps(chunks[n][0])).encode()
            w.raw(nxt[:rng.randint(0, len(nxt) - 1)])
            return
        if fault == "badjson":
            text = dumps(chunks[n][0])
            w.event(text[:rng.randint(1, len(text) - 2)], hold=False)   # cut JSON
        elif fault == "sse-error":          # vLLM sends the error event, then [DONE]
            w.event(dumps(error_body(500, "injected", "InternalServerError")))
        w.event("[DONE]", hold=False)
        w.flush()


# --------------------------------------------------------------------------- main
class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):                  # skip HTTPServer's getfqdn (slow without DNS)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Server6(Server):
    address_family = socket.AF_INET6


def load_dataset(path):
    problems = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("problem"), str) \
                    or "answer" not in row:
                raise ValueError("%s:%d: need {id, problem, answer}" % (path, n))
            problems.append({"id": str(row.get("id", n)), "problem": row["problem"],
                             "answer": str(row["answer"])})
    return problems


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--p-correct", type=float, default=0.5)
    ap.add_argument("--p-follow", type=float, default=0.8)
    ap.add_argument("--min-words", type=int, default=20)
    ap.add_argument("--max-words", type=int, default=200)
    ap.add_argument("--reasoning-field", default="reasoning_content",
                    choices=["reasoning_content", "reasoning", "none"])
    ap.add_argument("--no-tokenize", action="store_true")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="500,429,drop,badjson,sse-error")
    ap.add_argument("--fault-attempts", type=int, default=1)
    ap.add_argument("--token-delay-ms", type=float, default=0.0)
    ap.add_argument("--chunk-seed", type=int, default=0)
    ap.add_argument("--model", default="fake-model")
    ap.add_argument("--max-requests", type=int, default=100000)
    ap.add_argument("--lifetime-s", type=float, default=600.0)
    ap.add_argument("--keepalive-s", type=float, default=5.0,
                    help="idle keep-alive timeout per connection (uvicorn's default is 5)")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("--host must be 127.0.0.1, localhost or ::1 (loopback only)")
    bad = [k for k in args.faults.split(",") if k.strip() and k.strip() not in FAULT_KINDS]
    if bad:
        ap.error("unknown fault kind(s) %s; known: %s" % (bad, ",".join(FAULT_KINDS)))
    if not 0 <= args.min_words <= args.max_words:
        ap.error("need 0 <= --min-words <= --max-words")
    return args


def main(argv=None):
    args = parse_args(argv)
    tok = Tokenizer()
    state = State(args, FakeModel(load_dataset(args.dataset), args, tok), tok)
    Handler.timeout = args.keepalive_s
    if args.host == "::1":
        server = Server6(("::1", args.port), Handler)
    else:
        server = Server(("127.0.0.1", args.port), Handler)
    server.state = state
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    if args.port_file:                      # atomic: write a temp file, then rename
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("PORT %d" % port, flush=True)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: state.stop.set())
    state.stop.wait(args.lifetime_s)        # also set by --max-requests
    server.shutdown()
    server.server_close()
    if state.log_file:
        state.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
