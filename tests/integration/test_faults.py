"""Fault injection: 500s, 429s (Retry-After), dropped connections, malformed JSON and SSE
error events on some requests. The run must complete with exactly the results of a clean
run. A 4xx other than 429 must not be retried."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import FakeServer, check, finish, results, rsa, tmpdir, write_config  # noqa: E402


def run(tmp, name, stream, fake_args, **extra):
    db = os.path.join(tmp, f"{name}.db")
    with FakeServer(tmp, *fake_args) as srv:
        cfg = write_config(tmp, "faults", backend={"url": srv.url, "stream": stream, **extra},
                           run={"problems": "synth/1,synth/2,synth/3,synth/4"})
        r = rsa("run", cfg, "--db", db, "--quiet", timeout=300)
        return db, r, srv.requests()


def main():
    tmp = tmpdir()
    for stream in ("true", "false"):
        clean_db, r, _ = run(tmp, f"clean-{stream}", stream, [])
        check(r.returncode == 0, f"clean run ({stream}) exit {r.returncode}: {r.stderr}")
        faulty_db, r, log = run(tmp, f"faulty-{stream}", stream,
                                ["--fault-rate", "0.35", "--faults", "500,429,drop,badjson,sse-error",
                                 "--fault-attempts", "2"])
        check(r.returncode == 0, f"faulty run ({stream}) exit {r.returncode}: {r.stderr}")
        faults = [x["fault"] for x in log if x.get("fault")]
        check(len(faults) >= 10, f"({stream}) faults were injected: {len(faults)}")
        check({"500", "429", "drop", "badjson"} <= set(faults), f"({stream}) every kind injected: {set(faults)}")
        a, b = results(clean_db, "faults"), results(faulty_db, "faults")
        check(len(a) == len(b) == 4 * 4 * 3, f"({stream}) trace counts {len(a)} {len(b)}")
        check(a == b, f"({stream}) faulty run gives exactly the clean run's results")

    # a 4xx (unknown model -> 404) fails at once, with the server's message, and is not retried
    db = os.path.join(tmp, "4xx.db")
    with FakeServer(tmp) as srv:
        cfg = write_config(tmp, "fourxx", backend={"url": srv.url, "model": "no-such-model", "concurrency": 1},
                           rsa={"tail_approx": "chars"})
        r = rsa("run", cfg, "--db", db, "--quiet")
        check(r.returncode == 1, f"4xx run exits 1, got {r.returncode}")
        check("404" in r.stderr, f"4xx message names the status: {r.stderr}")
        bodies = [json.dumps(x["body"], sort_keys=True) for x in srv.requests() if x["path"].endswith("completions")]
        check(len(bodies) >= 1 and len(bodies) == len(set(bodies)), f"no request was retried after a 404: {len(bodies)}")
    finish()


if __name__ == "__main__":
    main()
