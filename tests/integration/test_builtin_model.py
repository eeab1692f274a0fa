"""The built-in trained model (configs/models/modchain-tiny) end to end through the real binary.

(The engine's logits on this model are checked against transformers' by test_engine_fidelity:
tests/fixtures/zaya/modchain-tiny holds the golden logits saved by tests/reference/train/train.py.)

Checks:
- a short seeded Markovian RSA run on the shipped model and test split, with the engine's CPU
  kernels pinned to the scalar ones (backend.isa = scalar: the same bits on every CPU), reproduces
  the recorded export tests/fixtures/builtin/export.jsonl exactly (every field but latency_ms);
- the README's first command (configs/quickstart.ini, exactly) runs and prints the per-round table,
  and a second run of it finds the run complete;
- the quickstart improves its answers: its last round's mean_acc is above round 0's by at least
  the gain recorded in band.json less 4 standard errors (the RSA gain on the inverse problems; a
  broken aggregation prompt, tail cut or candidate sampling loses it);
- round-0 accuracy on a fixed subset (default kernels: whatever this CPU has) is inside the band
  recorded in tests/fixtures/builtin/band.json, so a broken engine, tokenizer, chat template or
  grader fails loudly: the band is far above what a broken pipeline scores (about 0).

Re-record both after retraining the model:  python3 tests/integration/test_builtin_model.py build/rsa --record
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RSA, ROOT, check, export, finish, rsa, tmpdir, write_config  # noqa: E402

MODEL = os.path.join(ROOT, "configs", "models", "modchain-tiny")
DATA = os.path.join(ROOT, "bench", "data", "modchain-test.jsonl")
FIX = os.path.join(ROOT, "tests", "fixtures", "builtin")
EXPORT = os.path.join(FIX, "export.jsonl")
BAND = os.path.join(FIX, "band.json")
RECORD = "--record" in sys.argv

# the exact run: 4 problems (2 forward, 2 inverse), N = 4, C = 2, T = 2 (48 traces)
EXACT = {
    "run": {"name": "builtin-exact", "dataset": DATA, "seed": 2026, "problems": "test-00000,test-00001,test-find-00000,test-find-00001"},
    "rsa": {"population": 4, "subset": 2, "rounds": 2, "tail_tokens": 48},
    "sampling": {"max_tokens": 160, "temperature": 1.0, "top_p": 1.0},
    "backend": {"kind": "engine", "model": MODEL, "threads": 2, "concurrency": 16, "isa": "scalar"},
}
# the band: round 0 only, the first 40 problems, N = 4 (160 samples)
BAND_RUN = {
    "run": {"name": "builtin-band", "dataset": "(the first 40 lines of DATA, written at run time)", "seed": 99},
    "rsa": {"population": 4, "subset": 2, "rounds": 0, "tail_tokens": 48},
    "sampling": {"max_tokens": 160, "temperature": 1.0, "top_p": 1.0},
    "backend": {"kind": "engine", "model": MODEL, "threads": 2, "concurrency": 32},
}


def run(tmp, sections):
    name = sections["run"]["name"]
    db = os.path.join(tmp, f"{name}.db")
    r = rsa("run", write_config(tmp, name, **sections), "--db", db, "--quiet", timeout=600)
    check(r.returncode == 0, f"run {name}: exit {r.returncode}: {r.stderr[-2000:]}")
    return db


def main():
    if not os.access(RSA, os.X_OK):
        print(f"skip: {RSA} not built")
        sys.exit(77)
    for p in (MODEL, DATA):
        if not os.path.exists(p):
            check(False, f"{p} is missing")
            finish()
    tmp = tmpdir()

    db = run(tmp, EXACT)
    got = export(db, "builtin-exact")
    check(len(got) == 4 * 4 * 3, f"exact run: {len(got)} traces, want 48")
    if RECORD:
        os.makedirs(FIX, exist_ok=True)
        with open(EXPORT, "w", encoding="utf-8", newline="\n") as f:
            for row in got:
                f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    with open(EXPORT, encoding="utf-8") as f:
        want = [json.loads(line) for line in f]
    check(len(got) == len(want), f"exact run: {len(got)} traces, recorded {len(want)}")
    for g, w in zip(got, want):
        if g != w:
            keys = sorted(k for k in set(g) | set(w) if g.get(k) != w.get(k))
            where = f"{w.get('problem')} r{w.get('round')} s{w.get('slot')}"
            check(False, f"exact run differs from the recorded export at {where}: fields {keys}; first: "
                         f"{keys[0]} = {str(g.get(keys[0]))[:200]!r}, recorded {str(w.get(keys[0]))[:200]!r}")
            break
    # the model is doing the task, not emitting noise: most traces finish with a boxed answer
    answered = sum(1 for g in got if g.get("answer") not in (None, ""))
    check(answered >= len(got) * 3 // 4, f"exact run: only {answered} of {len(got)} traces have an answer")

    first40 = os.path.join(tmp, "first40.jsonl")
    with open(DATA, encoding="utf-8") as f, open(first40, "w", encoding="utf-8") as g:
        g.writelines(f.readlines()[:40])
    BAND_RUN["run"]["dataset"] = first40
    db = run(tmp, BAND_RUN)
    r = rsa("report", "--db", db, "--run", "builtin-band", "--format", "json")
    check(r.returncode == 0, f"report: {r.stderr}")
    rep = json.loads(r.stdout)
    acc = rep["rounds"][0]["mean_acc"]
    if RECORD:
        # 3.5 binomial standard errors of 160 samples either side of the recorded value
        se = (max(acc * (1 - acc), 0.05) / 160) ** 0.5
        band = {"mean_acc": acc, "lo": round(max(0.0, acc - 3.5 * se), 3), "hi": round(min(1.0, acc + 3.5 * se), 3),
                "samples": 160, "note": "round-0 mean_acc of BAND_RUN in test_builtin_model.py; lo/hi = 3.5 SE"}
        with open(BAND, "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(band, indent=2) + "\n")
    with open(BAND, encoding="utf-8") as f:
        band = json.load(f)
    check(band["lo"] <= acc <= band["hi"],
          f"round-0 accuracy {acc:.4f} outside the recorded band [{band['lo']}, {band['hi']}] "
          f"(recorded {band['mean_acc']:.4f}): engine, tokenizer, template or grader broken?")
    # the README's main command, exactly
    dbq = os.path.join(tmp, "quickstart.db")
    t0 = time.monotonic()
    r = rsa("run", os.path.join(ROOT, "configs", "quickstart.ini"), "--db", dbq, timeout=600)
    check(r.returncode == 0, f"quickstart: exit {r.returncode}: {r.stderr[-2000:]}")
    for col in ("mean_acc", "pass@4", "maj@4", "cum_decode/prob"):
        check(col in r.stdout, f"quickstart: no {col} column in the printed report")
    print(f"quickstart: {time.monotonic() - t0:.1f} s")
    r = rsa("report", "--db", dbq, "--format", "json")
    check(r.returncode == 0, f"quickstart report: {r.stderr}")
    rounds = json.loads(r.stdout)["rounds"]
    a0, aT = rounds[0]["mean_acc"], rounds[-1]["mean_acc"]
    n = 200 * 4  # samples per round: the quickstart's 200 problems x N = 4
    gain = aT - a0
    if RECORD:
        # 4 standard errors of a difference of two accuracies over n samples each
        se = ((a0 * (1 - a0) + aT * (1 - aT)) / n) ** 0.5
        band["quickstart_gain"] = round(gain, 4)
        band["quickstart_gain_min"] = round(gain - 4 * se, 3)
        band["quickstart_note"] = "configs/quickstart.ini: last round mean_acc - round 0 mean_acc; min = 4 SE below"
        with open(BAND, "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(band, indent=2) + "\n")
    check(gain >= band["quickstart_gain_min"],
          f"quickstart: RSA gain {gain:+.4f} (round 0 {a0:.4f}, last round {aT:.4f}) is below the recorded "
          f"minimum {band['quickstart_gain_min']:+.3f} (recorded {band['quickstart_gain']:+.4f}): aggregation broken?")
    r = rsa("run", os.path.join(ROOT, "configs", "quickstart.ini"), "--db", dbq, "--quiet", timeout=120)
    check(r.returncode == 0 and "complete" in r.stdout, f"quickstart re-run: {r.stderr[-1000:]}")
    print(f"exact export: {len(got)} traces match; round-0 accuracy {acc:.4f} in [{band['lo']}, {band['hi']}]; "
          f"quickstart gain {gain:+.4f} >= {band['quickstart_gain_min']:+.3f}")
    finish()


if __name__ == "__main__":
    main()
