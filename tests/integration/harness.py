"""Shared helpers for the integration tests: start the fake OpenAI-compatible server,
write configs, run the real `rsa` binary, and read its SQLite database.

Each test file is a plain script run by ctest as `python3 test_x.py PATH/TO/rsa`;
it exits 0 on success, 1 on failure, 77 when it cannot run here."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(ROOT, "tests", "fakeserver", "fake_openai.py")
DATASET = os.path.join(ROOT, "bench", "data", "synthetic.jsonl")
RSA = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "rsa")

FAILURES = []


def check(cond, msg):
    """Record a failed expectation (the test goes on, and fails at the end)."""
    if not cond:
        FAILURES.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


def finish():
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def pieces(text):
    """The fake model's tokenizer (see tests/fakeserver/fake_openai.py)."""
    return re.findall(r"\s*\S+|\s+", text)


class FakeServer:
    """The fake server as a context manager on a free loopback port."""

    def __init__(self, tmp, *args):
        self.tmp = tmp
        self.portfile = os.path.join(tmp, f"port-{time.monotonic_ns()}")
        self.log = self.portfile + ".log"
        cmd = [sys.executable, FAKE, "--dataset", DATASET, "--port", "0", "--port-file", self.portfile,
               "--log", self.log, "--lifetime-s", "600", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(self.portfile):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("fake server died: " + self.proc.stderr.read().decode())
            time.sleep(0.05)
        with open(self.portfile) as f:
            self.port = int(f.read().strip())
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def write_config(tmp, name="t", **sections):
    """A config file in tmp; sections maps section -> {key: value}."""
    base = {
        "run": {"name": name, "dataset": DATASET, "seed": 7},
        "rsa": {"population": 4, "subset": 2, "rounds": 2, "tail_tokens": 8},
        "sampling": {"max_tokens": 400},
        "backend": {"concurrency": 8, "retries": 6, "backoff_s": 0.05, "timeout_s": 30},
    }
    for sec, kv in sections.items():
        base.setdefault(sec, {}).update(kv)
    path = os.path.join(tmp, f"{name}.ini")
    with open(path, "w") as f:
        for sec, kv in base.items():
            f.write(f"[{sec}]\n")
            for k, v in kv.items():
                f.write(f"{k} = {v}\n")
    return path


def rsa(*args, timeout=120, **kw):
    """Run the rsa binary; returns CompletedProcess with text output."""
    return subprocess.run([RSA, *args], capture_output=True, text=True, timeout=timeout, **kw)


def db_rows(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def traces(db, run):
    """Every trace of a run as dicts, ordered by coordinates."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute(
            "SELECT p.problem_id, t.*, v.answer, v.correct FROM traces t"
            " JOIN runs r ON r.id = t.run_id JOIN problems p ON p.run_id = t.run_id AND p.idx = t.problem"
            " LEFT JOIN verdicts v USING (run_id, problem, repeat, round, slot)"
            " WHERE r.name = ? ORDER BY t.problem, t.repeat, t.round, t.slot", (run,)).fetchall()
        return [dict(r) for r in rows]
    finally:
        con.close()


RESULT_KEYS = ("problem_id", "repeat", "round", "slot", "parents", "seed", "prompt", "text", "tail",
               "tail_tokens", "tail_truncated", "completion_tokens", "prompt_tokens", "finish_reason",
               "answer", "correct")


def results(db, run):
    """The parts of a run that must not depend on timing, faults or restarts."""
    return [tuple(t[k] for k in RESULT_KEYS) for t in traces(db, run)]


def export(db, run):
    """`rsa export` of a run as dicts, without latency_ms (a timing)."""
    r = rsa("export", "--db", db, "--run", run)
    check(r.returncode == 0, f"export {run}: {r.stderr}")
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    for row in rows:
        row.pop("latency_ms", None)
    return rows


def tmpdir():
    return tempfile.mkdtemp(prefix="rsa-it-")
