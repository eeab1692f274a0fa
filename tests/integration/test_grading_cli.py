"""`rsa grade`, `rsa regrade`, `rsa sweep` and `rsa compare` through the real binary:
the grade output contract and its bad-line handling, regrading that changes verdicts and
never traces, a sweep that creates named runs and resumes without new requests, and a
budget-matched comparison against a T = 0 baseline."""
import hashlib
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import FakeServer, check, db_rows, finish, rsa, tmpdir, write_config  # noqa: E402


def grade_cli(tmp):
    resp = os.path.join(tmp, "resp.txt")
    with open(resp, "w") as f:
        f.write("<think>maybe \\boxed{3}</think> So the answer is $\\boxed{\\dfrac{1}{2}}$.")
    r = rsa("grade", "--gold", "0.5", "--response-file", resp)
    check(r.returncode == 0, f"grade exit {r.returncode}: {r.stderr}")
    j = json.loads(r.stdout)
    check(j["extracted"] == "\\dfrac{1}{2}" and j["correct"] is True and j["status"] == "correct",
          f"grade: last box, equivalent: {j}")
    r = rsa("grade", "--gold", "3", "--response-file", resp)
    check(json.loads(r.stdout)["correct"] is False, "grade: the box inside <think> is not the last one")
    lines = [
        {"id": "a", "gold": "7", "response": "\\boxed{7}"},
        "not json",
        {"id": "c", "gold": "3", "response": None},
        {"id": "d", "gold": "12", "response": "no box, but 12", "strict": False},
        {"id": "e", "gold": "12", "response": "no box, but 12"},
        {"id": "f", "response": "\\boxed{1}"},
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    r = rsa("grade", "--jsonl", "-", input=text)
    check(r.returncode == 2, f"grade --jsonl with bad lines exits 2, got {r.returncode}")
    out = [json.loads(x) for x in r.stdout.splitlines()]
    check(len(out) == len(lines), f"one output object per input line: {len(out)}")
    if len(out) == len(lines):
        check(out[0]["id"] == "a" and out[0]["correct"] is True, f"line 1: {out[0]}")
        check("error" in out[1] and ":2:" in out[1]["error"], f"line 2 names its line: {out[1]}")
        check(out[2]["status"] == "no_answer" and out[2]["correct"] is False, f"null response: {out[2]}")
        check(out[3]["correct"] is True, f"non-strict fallback to the last number: {out[3]}")
        check(out[4]["correct"] is False and out[4]["status"] == "no_answer", f"strict: no box, no answer: {out[4]}")
        check("error" in out[5] and "gold" in out[5]["error"], f"missing gold is an error: {out[5]}")
    check(":2:" in r.stderr, "stderr names the bad line")
    r = rsa("grade", "--gold", "1")
    check(r.returncode == 2, "grade without a response is a usage error")
    r = rsa("grade", "--jsonl", "-", input='{"gold": "1", "response": "\\boxed{1}", "strict": "yes"}\n')
    check(r.returncode == 2 and "strict" in r.stdout, f"a non-boolean option is an error: {r.stdout}")
    r = rsa("grade", "--jsonl", tmp)
    check(r.returncode == 2 and "read error" in r.stderr, f"a directory is not a JSONL file: {r.stderr}")
    empty = os.path.join(tmp, "empty.db")
    open(empty, "w").close()
    r = rsa("report", "--db", empty)
    check(r.returncode == 2 and os.path.getsize(empty) == 0, "report never turns an empty file into a database")


def traces_digest(db, run):
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT t.* FROM traces t JOIN runs r ON r.id = t.run_id WHERE r.name = ?"
                           " ORDER BY problem, repeat, round, slot", (run,)).fetchall()
    finally:
        con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest(), len(rows)


def main():
    tmp = tmpdir()
    grade_cli(tmp)
    db = os.path.join(tmp, "sweep.db")
    with FakeServer(tmp) as srv:
        cfg = write_config(tmp, "abl", run={"problems": "synth/1,synth/2,synth/3"},
                           rsa={"population": 4, "subset": 2, "rounds": 1, "tail_tokens": 8},
                           backend={"url": srv.url})
        r = rsa("sweep", cfg, "--db", db, "--quiet", "--grid", "rsa.rounds=0,2", timeout=300)
        check(r.returncode == 0, f"sweep exit {r.returncode}: {r.stderr}")
        names = [n for (n,) in db_rows(db, "SELECT name FROM runs ORDER BY name")]
        check(names == ["abl-rounds=0", "abl-rounds=2"], f"sweep runs are named by grid point: {names}")
        rounds = dict(db_rows(db, "SELECT name, rounds FROM runs"))
        check(rounds.get("abl-rounds=2") == 2 and rounds.get("abl-rounds=0") == 0, f"grid values applied: {rounds}")
        check("abl-rounds=0" in r.stdout and "abl-rounds=2" in r.stdout, "the sweep ends with the comparison")
        sent = len([x for x in srv.requests() if x["path"].endswith("completions")])
        check(sent == 3 * 4 * (1 + 3), f"3 problems x 4 x (1 + 3 stages) completions, got {sent}")
        r = rsa("sweep", cfg, "--db", db, "--quiet", "--grid", "rsa.rounds=0,2", timeout=300)
        check(r.returncode == 0, "sweep again: resumes (already complete)")
        again = len([x for x in srv.requests() if x["path"].endswith("completions")])
        check(again == sent, "a finished sweep sends nothing when rerun")
        r = rsa("sweep", cfg, "--db", db, "--grid", "rsa.nope=1,2")
        check(r.returncode == 2 and "nope" in r.stderr, f"an unknown grid key is refused up front: {r.stderr}")
        r = rsa("sweep", cfg, "--db", db, "--grid", "rsa.rounds=1,,2")
        check(r.returncode == 2 and "empty value" in r.stderr, f"an empty grid value is refused: {r.stderr}")

    # compare: a table with both runs; with a baseline, the budget section
    r = rsa("compare", "--db", db, "--runs", "abl-rounds=0,abl-rounds=2")
    check(r.returncode == 0 and "abl-rounds=0" in r.stdout and "abl-rounds=2" in r.stdout,
          f"compare text: {r.returncode} {r.stderr}")
    r = rsa("compare", "--db", db, "--runs", "abl-rounds=2", "--baseline", "abl-rounds=0", "--format", "json")
    check(r.returncode == 0, f"compare --baseline json: {r.stderr}")
    if r.returncode == 0:
        j = json.loads(r.stdout)
        budget = j.get("budget") or {}
        pts = budget.get("points") or []
        check(len(pts) == 3, f"one budget point per RSA round: {budget}")
    r = rsa("report", "--db", db, "--run", "abl-rounds=2", "--baseline", "abl-rounds=0")
    check(r.returncode == 0, f"report --baseline: {r.stderr}")
    r = rsa("compare", "--db", db, "--runs", "abl-rounds=2,abl-rounds=2")
    check(r.returncode == 2 and "twice" in r.stderr, f"compare refuses a run listed twice: {r.stderr}")
    r = rsa("compare", "--db", db, "--runs", "abl-rounds=2,missing")
    check(r.returncode == 2 and "missing" in r.stderr, f"compare names a missing run: {r.stderr}")

    # regrade: verdicts recomputed, traces untouched
    run = "abl-rounds=2"
    before, n = traces_digest(db, run)
    truth = db_rows(db, "SELECT problem, repeat, round, slot, answer, correct FROM verdicts v JOIN runs r"
                    " ON r.id = v.run_id WHERE r.name = ? ORDER BY 1, 2, 3, 4", run)
    con = sqlite3.connect(db)
    con.execute("UPDATE verdicts SET correct = 1 - correct, grader_version = 'old'"
                " WHERE run_id = (SELECT id FROM runs WHERE name = ?)", (run,))
    con.commit()
    con.close()
    r = rsa("regrade", "--db", db, "--run", run)
    check(r.returncode == 0, f"regrade exit {r.returncode}: {r.stderr}")
    check(f"{n} changed" in r.stderr, f"regrade says how many verdicts changed: {r.stderr}")
    after = db_rows(db, "SELECT problem, repeat, round, slot, answer, correct FROM verdicts v JOIN runs r"
                    " ON r.id = v.run_id WHERE r.name = ? ORDER BY 1, 2, 3, 4", run)
    check(after == truth, "regrade restores the verdicts the current grader gives")
    versions = db_rows(db, "SELECT DISTINCT grader, grader_version FROM verdicts v JOIN runs r ON r.id = v.run_id"
                       " WHERE r.name = ?", run)
    check(len(versions) == 1 and versions[0][1] != "old", f"grader version recorded: {versions}")
    check(traces_digest(db, run) == (before, n), "regrade never touches traces")
    r = rsa("regrade", "--db", db, "--run", "nope")
    check(r.returncode == 2 and "nope" in r.stderr, "regrade of an unknown run names it")
    finish()


if __name__ == "__main__":
    main()
