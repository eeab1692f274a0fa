"""Crash safety: kill -9 a run part-way, rerun the same command, and compare with an
uninterrupted run: identical prompts, seeds, texts and verdicts; nothing lost or doubled.
Also: a rerun of a finished run sends nothing; a second interruption by SIGINT stops
cleanly and resumes too."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RSA, FakeServer, check, db_rows, finish, results, rsa, tmpdir, write_config  # noqa: E402

FAKE = ["--token-delay-ms", "3", "--min-words", "40", "--max-words", "120"]


def count(db):
    try:
        return db_rows(db, "SELECT count(*) FROM traces")[0][0]
    except Exception:
        return 0


def interrupted_run(tmp, cfg, db, sig, at):
    """Start a run, send sig once `at` traces are stored, return the exit code."""
    p = subprocess.Popen([RSA, "run", cfg, "--db", db, "--quiet"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and count(db) < at:
        time.sleep(0.02)
    if p.poll() is None:
        p.send_signal(sig)
    p.wait(timeout=120)
    return p.returncode


def main():
    tmp = tmpdir()
    with FakeServer(tmp, *FAKE) as srv:
        sets = dict(run={"problems": "synth/1,synth/2,synth/3,synth/4,synth/5,synth/6"},
                    rsa={"population": 6, "subset": 3, "rounds": 2}, backend={"url": srv.url, "concurrency": 6})
        cfg = write_config(tmp, "crash", **sets)
        total = 6 * 6 * 3

        ref_db = os.path.join(tmp, "ref.db")
        r = rsa("run", cfg, "--db", ref_db, "--quiet", timeout=300)
        check(r.returncode == 0, f"reference run exit {r.returncode}: {r.stderr}")

        db = os.path.join(tmp, "crash.db")
        rc = interrupted_run(tmp, cfg, db, signal.SIGKILL, at=total // 3)
        n_killed = count(db)
        check(rc == -signal.SIGKILL, f"the run was killed (rc {rc})")
        check(0 < n_killed < total, f"killed part-way: {n_killed} of {total} traces stored")
        # a second interruption, by SIGINT: stops cleanly with status 130
        rc = interrupted_run(tmp, cfg, db, signal.SIGINT, at=(2 * total) // 3)
        n_int = count(db)
        check(rc in (130, 0), f"SIGINT exit code {rc}")
        check(n_int >= n_killed, "traces survive the interruption")
        before = len(srv.requests())
        r = rsa("run", cfg, "--db", db, "--quiet", timeout=300)
        check(r.returncode == 0, f"resumed run exit {r.returncode}: {r.stderr}")
        sent = [x for x in srv.requests()[before:] if x["path"].endswith("completions")]
        check(len(sent) == total - n_int, f"resume sent only the missing traces: {len(sent)} != {total - n_int}")
        a, b = results(ref_db, "crash"), results(db, "crash")
        check(len(b) == total, f"{len(b)} traces after resume, want {total}")
        check(a == b, "resumed run == uninterrupted run (prompts, seeds, texts, tails, verdicts)")
        status = db_rows(db, "SELECT status FROM runs WHERE name = 'crash'")[0][0]
        check(status == "complete", f"run status {status}")

        before = len(srv.requests())
        r = rsa("run", cfg, "--db", db, "--quiet")
        check(r.returncode == 0, "rerun of a complete run succeeds")
        check(not [x for x in srv.requests()[before:] if x["path"].endswith("completions")],
              "rerun of a complete run sends no generation request")
    finish()


if __name__ == "__main__":
    main()
