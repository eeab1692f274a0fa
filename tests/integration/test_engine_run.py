"""Markovian RSA end to end on the in-process engine (backend.kind = engine): the real binary, a
seeded random-weight ZAYA1 checkpoint written by `rsa model init`, the project's own tokenizer
(configs/models/quickstart), the zaya1 chat template, continuous batching, SQLite.

Checks:
- a re-run with the same seed gives an identical export (every field but latency_ms, a timing);
- the same run with one request at a time (other batch compositions) gives the same traces;
- a run killed part-way and resumed gives the same traces as an uninterrupted one;
- token counts are exact: tail_tokens == number of stored tail ids <= tau, finish_reason "length"
  iff completion_tokens == beta, stored tail ids decode (through `rsa tokenize`) to the tail text;
- every parent's tail goes into its children's prompts verbatim;
- bad engine configs fail with clear messages (missing model directory, vocab mismatch).
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DATASET, RSA, ROOT, FakeServer, check, export, finish, rsa, tmpdir, traces, write_config  # noqa: E402

QS = os.path.join(ROOT, "configs", "models", "quickstart")
BETA, TAU = 40, 12


def make_model(tmp):
    out = os.path.join(tmp, "model")
    r = rsa("model", "init", "--shape", os.path.join(QS, "config.json"), "--random", "--seed", "5", "--out", out)
    if not check(r.returncode == 0, f"model init failed: {r.stderr}"):
        finish()
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(QS, f), out)
    return out


def config(tmp, name, model, **extra):
    sections = {
        "run": {"name": name, "dataset": DATASET, "seed": 11, "problems": "synth/1,synth/2,synth/5"},
        "rsa": {"population": 4, "subset": 2, "rounds": 2, "tail_tokens": TAU},
        "sampling": {"max_tokens": BETA, "temperature": 1.0, "top_p": 0.95},
        "backend": {"kind": "engine", "model": model, "threads": 2, "concurrency": 8},
    }
    for sec, kv in extra.items():
        sections.setdefault(sec, {}).update(kv)
    return write_config(tmp, name, **sections)


def decode_ids(ids_list):
    """Decode id lists through the real binary's tokenizer (one call for all)."""
    inp = "".join(json.dumps(ids) + "\n" for ids in ids_list)
    r = subprocess.run([RSA, "tokenize", "--tokenizer", os.path.join(QS, "tokenizer.json"), "--decode"],
                       input=inp, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"rsa tokenize --decode: {r.stderr}")
    return [json.loads(line)["text"] for line in r.stdout.splitlines()]


def blob_ids(b):
    return [int.from_bytes(b[i:i + 4], "little", signed=True) for i in range(0, len(b), 4)]


def check_traces(db, run):
    ts = traces(db, run)
    check(len(ts) == 3 * 4 * 3, f"{run}: {len(ts)} traces, want 36")
    tails = {}
    with_ids = []
    for t in ts:
        where = f"{run} {t['problem_id']} r{t['round']} s{t['slot']}"
        check(t["prompt_tokens"] and t["prompt_tokens"] > 0, f"{where}: prompt_tokens {t['prompt_tokens']}")
        ct = t["completion_tokens"]
        check(ct is not None and 1 <= ct <= BETA, f"{where}: completion_tokens {ct}")
        check(t["finish_reason"] in ("stop", "length"), f"{where}: finish_reason {t['finish_reason']}")
        check((t["finish_reason"] == "length") == (ct == BETA), f"{where}: {t['finish_reason']} with {ct} tokens")
        check(t["endpoint"] == "engine" and t["attempts"] == 1, f"{where}: endpoint/attempts")
        check(t["tail_ids"] is not None, f"{where}: no tail ids stored")
        ids = blob_ids(t["tail_ids"] or b"")
        check(t["tail_tokens"] == len(ids) <= TAU, f"{where}: tail_tokens {t['tail_tokens']}, {len(ids)} ids")
        check(t["tail"] in t["text"], f"{where}: the tail is not a substring of the trace")
        with_ids.append((where, ids, t["tail"]))
        tails[(t["problem_id"], t["round"], t["slot"])] = t["tail"]
    for (where, ids, tail), text in zip(with_ids, decode_ids([w[1] for w in with_ids])):
        check(text == tail, f"{where}: tail ids decode to {text!r}, stored tail {tail!r}")
    # every parent's tail is in the child's prompt, verbatim
    for t in ts:
        if t["round"] == 0:
            continue
        for p in json.loads(t["parents"]):
            tail = tails[(t["problem_id"], t["round"] - 1, p)]
            check(tail in t["prompt"], f"{run} {t['problem_id']} r{t['round']} s{t['slot']}: parent {p}'s "
                                       f"tail is not in the prompt verbatim")
    return ts


def main():
    if not os.access(RSA, os.X_OK):
        print(f"skip: {RSA} not built")
        sys.exit(77)
    tmp = tmpdir()
    model = make_model(tmp)

    # run A, and the same again (B) in another database
    dbs = {}
    for name in ("A", "B"):
        db = os.path.join(tmp, f"{name}.db")
        cfg = config(tmp, "engine-run", model)
        t0 = time.monotonic()
        r = rsa("run", cfg, "--db", db, "--quiet", timeout=240)
        check(r.returncode == 0, f"run {name}: exit {r.returncode}: {r.stderr[-2000:]}")
        print(f"run {name}: {time.monotonic() - t0:.1f} s")
        dbs[name] = db
    ts = check_traces(dbs["A"], "engine-run")
    check(export(dbs["A"], "engine-run") == export(dbs["B"], "engine-run"),
          "re-run with the same seed: exports differ")
    lengths = sum(1 for t in ts if t["finish_reason"] == "length")
    print(f"{len(ts)} traces, {lengths} hit beta, {len(ts) - lengths} stopped on EOS")

    # one request at a time: other batch compositions, same traces
    db1 = os.path.join(tmp, "serial.db")
    cfg1 = config(tmp, "engine-run", model, backend={"concurrency": 1})
    r = rsa("run", cfg1, "--db", db1, "--quiet", timeout=240)
    check(r.returncode == 0, f"serial run: {r.stderr[-2000:]}")
    check(export(db1, "engine-run") == export(dbs["A"], "engine-run"),
          "concurrency 1 vs 8: traces differ (sampling depends on batch composition)")

    # kill part-way, resume: the same traces
    dbk = os.path.join(tmp, "killed.db")
    cfgk = config(tmp, "engine-run", model, backend={"concurrency": 2})
    proc = subprocess.Popen([RSA, "run", cfgk, "--db", dbk, "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stored = 0
    for _ in range(400):
        time.sleep(0.02)
        if proc.poll() is not None:
            break
        try:
            stored = len(traces(dbk, "engine-run"))
        except Exception:
            stored = 0
        if stored >= 10:
            break
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    print(f"killed after {stored} stored traces")
    r = rsa("run", cfgk, "--db", dbk, "--quiet", timeout=240)
    check(r.returncode == 0, f"resume after kill: {r.stderr[-2000:]}")
    check(export(dbk, "engine-run") == export(dbs["A"], "engine-run"), "killed + resumed run differs")

    # stop strings: the text ends before the first match; such traces finish "stop" under beta
    dbs_ = os.path.join(tmp, "stop.db")
    cfgs_ = config(tmp, "engine-stop", model, sampling={"stop": '["e", "o"]'})
    r = rsa("run", cfgs_, "--db", dbs_, "--quiet", timeout=240)
    check(r.returncode == 0, f"stop-string run: {r.stderr[-1500:]}")
    ts_ = traces(dbs_, "engine-stop")
    stopped = [t for t in ts_ if t["finish_reason"] == "stop"]
    check(len(stopped) > 0, "stop strings: no trace stopped")
    for t in ts_:
        check("e" not in t["text"] and "o" not in t["text"], f"stop strings: {t['text']!r} contains one")
        check((t["finish_reason"] == "stop") == (t["completion_tokens"] < BETA) or t["completion_tokens"] == BETA,
              f"stop strings: {t['finish_reason']} after {t['completion_tokens']} tokens")
    empty = sum(1 for t in ts_ if t["tail_ids"] is not None and len(t["tail_ids"]) == 0)
    print(f"stop strings: {len(stopped)} of {len(ts_)} traces stopped early, {empty} empty tails")
    r = rsa("run", cfgs_, "--db", dbs_, "--quiet", timeout=120)  # complete: resumes with nothing to do
    check(r.returncode == 0, f"re-run with empty tails: {r.stderr[-1500:]}")

    # a tokenizer whose decoder is not suffix-stable (Metaspace prepending a space, as Llama 2 /
    # Mistral tokenizers do): tails fall back to re-tokenising, recorded as such, and the run completes
    meta = os.path.join(tmp, "metaspace")
    shutil.copytree(model, meta)
    with open(os.path.join(meta, "tokenizer.json")) as f:
        tj = json.load(f)
    tj["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        {"type": "ByteFallback"}, {"type": "Fuse"}]}
    with open(os.path.join(meta, "tokenizer.json"), "w") as f:
        json.dump(tj, f)
    dbm = os.path.join(tmp, "meta.db")
    r = rsa("run", config(tmp, "engine-meta", meta), "--db", dbm, "--quiet", timeout=240)
    check(r.returncode == 0, f"metaspace tokenizer run: {r.stderr[-1500:]}")
    con = sqlite3.connect(dbm)
    row = con.execute("SELECT tail_method FROM runs WHERE name = 'engine-meta'").fetchone()
    con.close()
    check(row is not None and row[0] == "tokens:engine-retokenized", f"metaspace tail_method {row}")

    # the run prints a report
    r = rsa("report", "--db", dbs["A"], "--run", "engine-run")
    check(r.returncode == 0 and "engine-run" in r.stdout, f"report: {r.stderr}")

    # HTTP with a local tokenizer.json (servers without /tokenize): token-exact tails, recorded as such
    try:
        srv = FakeServer(tmp)
    except (RuntimeError, OSError) as e:
        srv = None
        print(f"fake server unavailable ({e}): local-tokenizer check skipped")
    if srv is not None:
        with srv:
            cfgh = write_config(tmp, "local-tok", backend={"url": srv.url, "tokenizer": os.path.join(QS, "tokenizer.json")})
            dbh = os.path.join(tmp, "http.db")
            r = rsa("run", cfgh, "--db", dbh, "--quiet")
            check(r.returncode == 0, f"http + local tokenizer: {r.stderr[-1500:]}")
            th = traces(dbh, "local-tok")
            check(len(th) > 0 and all(t["tail_tokens"] is not None and t["tail_tokens"] <= 8 for t in th),
                  "http + local tokenizer: tails not cut to tau tokens")
            check(all(t["tail_ids"] is None for t in th), "http traces should store no tail ids")
            con = sqlite3.connect(dbh)
            method = con.execute("SELECT tail_method FROM runs WHERE name = 'local-tok'").fetchone()
            con.close()
            check(method is not None and method[0] == "tokens:local", f"tail_method {method}")

    # bad configs: clear errors, exit 2
    cfgm = config(tmp, "bad", os.path.join(tmp, "no-such-model"))
    r = rsa("run", cfgm, "--db", os.path.join(tmp, "bad.db"), "--quiet")
    check(r.returncode == 2 and "not a directory" in r.stderr, f"missing model: exit {r.returncode}: {r.stderr}")
    small = os.path.join(tmp, "small")
    shutil.copytree(model, small)
    with open(os.path.join(small, "config.json")) as f:
        c = json.load(f)
    c["vocab_size"] = 512
    with open(os.path.join(small, "config.json"), "w") as f:
        json.dump(c, f)
    r = rsa("model", "init", "--shape", os.path.join(small, "config.json"), "--random", "--seed", "1", "--force",
            "--out", small)
    check(r.returncode == 0, f"model init small: {r.stderr}")
    cfgs = config(tmp, "bad2", small)
    r = rsa("run", cfgs, "--db", os.path.join(tmp, "bad2.db"), "--quiet")
    check(r.returncode == 2 and "embeddings" in r.stderr, f"vocab mismatch: exit {r.returncode}: {r.stderr}")
    shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
