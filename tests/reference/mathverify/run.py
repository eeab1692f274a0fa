#!/usr/bin/env python3
"""Reference verdicts from Hugging Face math-verify, as the RSA reference code uses it.

Reads grading cases (JSONL: {"id"?, "gold", "response", ...}) on stdin and writes one JSON object
per case, in order, on stdout:

  {"id", "key", "mv", "mv_full", "mv_error"}

  key      sha256 hex of gold + "\\n" + response (UTF-8)
  mv       the RSA pipeline: the content of the last \\boxed in the response (extraction rules below),
           then both strings wrapped in $...$ when they hold no '$', then
           verify(parse(gold), parse(answer)) with math-verify's defaults
  mv_full  verify(parse(gold), parse(response)) on the whole response (gold wrapped as above)
  mv_error null, or short labels ("full:" marks mv_full's): parse-timeout, verify-timeout, parse-error, verify-error,
           exception:<Type>, hard-timeout (the worker was killed after --limit seconds; verdict false)
           -- labels only, never answer text

Extraction follows the behaviour of the RSA code's last_boxed_only_string/remove_boxed (written
here from its description, not copied):
  * if the text contains "\\boxed " (with a space) anywhere, the answer is the text after the last
    "\\boxed " up to the next '$' (or the end);
  * otherwise the last "\\boxed" (or, when there is none, the last "\\fbox") is brace-matched from
    there; no closing brace -> no answer; the answer is the inside of "\\boxed{...}", and "" for
    anything else (so an \\fbox answer is always scored wrong);
  * no answer is scored as the empty answer (wrong).
strict/after_think options of the cases are ignored: the RSA pipeline has neither.

Options: --no-id (drop "id": for fixtures of generated cases), --limit S (hard per-call limit,
default 60 s). Needs the venv of README.md.
"""
import hashlib
import json
import logging
import multiprocessing as mp
import sys


def last_box_content(text):
    """The answer the RSA pipeline extracts from text ("" when none)."""
    sp = "\\boxed "
    if sp in text:
        return text.rsplit(sp, 1)[1].split("$", 1)[0]
    idx = text.rfind("\\boxed")
    if idx < 0:
        idx = text.rfind("\\fbox")
        if idx < 0:
            return ""
    depth = 0
    end = None
    for i in range(idx, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                end = i
                break
    if end is None:
        return ""
    box = text[idx:end + 1]
    head = "\\boxed{"
    if box.startswith(head) and box.endswith("}"):
        return box[len(head):-1]
    return ""


def dollar(s):
    return s if "$" in s else "$" + s + "$"


def case_key(gold, response):
    return hashlib.sha256((gold + "\n" + response).encode("utf-8")).hexdigest()


class _Labels(logging.Handler):
    """Turns math-verify's log records into short labels (no answer text)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.labels = []

    def emit(self, record):
        msg = str(record.msg)
        if msg.startswith("Timeout during parsing"):
            self.labels.append("parse-timeout")
        elif msg.startswith("Timeout during comparison"):
            self.labels.append("verify-timeout")
        elif msg.startswith("Error parsing"):
            self.labels.append("parse-error")
        elif msg.startswith("Error during comparison"):
            self.labels.append("verify-error")


def _worker(conn):
    sys.set_int_max_str_digits(0)
    from math_verify import parse, verify
    h = _Labels()
    for name in ("math_verify", "math_verify.parser", "math_verify.grader"):
        lg = logging.getLogger(name)
        lg.addHandler(h)
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
    while True:
        job = conn.recv()
        if job is None:
            return
        gold, pred = job
        h.labels.clear()
        try:
            ok = bool(verify(parse(gold), parse(pred)))
            err = h.labels[0] if h.labels else None
        except Exception as e:  # the RSA code scores an exception as wrong
            ok, err = False, "exception:" + type(e).__name__
        conn.send((ok, err))


class Oracle:
    """verify(parse(gold), parse(pred)) in a child process, killed after `limit` seconds."""

    def __init__(self, limit):
        self.limit = limit
        self.proc = None

    def _start(self):
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def __call__(self, gold, pred):
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send((gold, pred))
        if self.conn.poll(self.limit):
            return self.conn.recv()
        self.proc.kill()
        self.proc.join()
        self.proc = None
        return False, "hard-timeout"

    def close(self):
        if self.proc is not None and self.proc.is_alive():
            self.conn.send(None)
            self.proc.join(5)


def main():
    args = sys.argv[1:]
    no_id = "--no-id" in args
    limit = 60.0
    if "--limit" in args:
        limit = float(args[args.index("--limit") + 1])
    oracle = Oracle(limit)
    out = sys.stdout
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        c = json.loads(line)
        gold, response = c["gold"], c["response"]
        g = dollar(gold)
        mv, e1 = oracle(g, dollar(last_box_content(response)))
        mv_full, e2 = oracle(g, response)
        rec = {} if no_id else {"id": c.get("id")}
        errs = [e for e in (e1, e2 and "full:" + e2) if e]
        rec.update(key=case_key(gold, response), mv=mv, mv_full=mv_full, mv_error="; ".join(errs) or None)
        out.write(json.dumps(rec) + "\n")
        out.flush()
        if lineno % 100 == 0:
            print(f"{lineno} cases", file=sys.stderr, flush=True)

    oracle.close()


if __name__ == "__main__":
    main()
