"""End to end over HTTP: round structure, parents, token-exact tails, aggregation prompts,
seeds on the wire, report and export. Runs the chat API (streaming and not, reasoning split
by the server or inline) and the completions API."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DATASET, FakeServer, check, finish, pieces, rsa, tmpdir, traces,  # noqa: E402
                     write_config)

N, C, T, TAU = 4, 2, 2, 8
n_problems = sum(1 for line in open(DATASET) if line.strip())


def verify_run(db, name, server, api):
    ts = traces(db, name)
    check(len(ts) == n_problems * N * (T + 1), f"{name}: {len(ts)} traces, want {n_problems * N * (T + 1)}")
    by = {(t["problem_id"], t["round"], t["slot"]): t for t in ts}
    wire_seeds = [r["body"]["seed"] for r in server.requests()
                  if r["path"].endswith("completions") and r.get("body") and r.get("status") == 200]
    check(sorted(wire_seeds) == sorted(t["seed"] for t in ts), f"{name}: seeds on the wire == seeds stored")
    check(len(set(t["seed"] for t in ts)) == len(ts), f"{name}: every trace has its own seed")
    for t in ts:
        parents = json.loads(t["parents"])
        key = f"{name} {t['problem_id']} r{t['round']} s{t['slot']}"
        if t["round"] == 0:
            check(parents == [], f"{key}: round 0 has no parents")
            check("Candidate" not in t["prompt"], f"{key}: round-0 prompt is the problem prompt")
        else:
            check(len(parents) == C and len(set(parents)) == C, f"{key}: {C} distinct parents, got {parents}")
            check(all(0 <= p < N for p in parents), f"{key}: parents in range")
            for i, p in enumerate(parents):
                par = by[(t["problem_id"], t["round"] - 1, p)]
                tail = par["tail"].strip()
                check(tail in t["prompt"], f"{key}: prompt holds parent {p}'s tail")
                check(f"---- Solution {i + 1} ----" in t["prompt"], f"{key}: candidate block {i + 1}")
                prefix = par["text"][: len(par["text"]) - len(par["tail"])]
                if par["tail_truncated"] and len(prefix) >= 40:
                    check(prefix[:40] not in t["prompt"], f"{key}: prompt must not hold parent {p}'s earlier text")
                    check("[... earlier reasoning omitted ...]" in t["prompt"], f"{key}: truncation marker")
        # the tail is the last TAU tokens of the trace (tail_source = full)
        ps = pieces(t["text"])
        if len(ps) > TAU:
            check(t["tail"] == "".join(ps[-TAU:]), f"{key}: tail == last {TAU} tokens")
            check(t["tail_tokens"] == TAU and t["tail_truncated"] == 1, f"{key}: tail_tokens {t['tail_tokens']}")
        else:
            check(t["tail"] == t["text"] and t["tail_truncated"] == 0, f"{key}: short trace carried whole")
        check(t["source_tokens"] == len(ps), f"{key}: source_tokens {t['source_tokens']} != {len(ps)}")
        if api == "chat":
            check(t["text"].startswith("<think>"), f"{key}: trace text keeps the think marker")
        check(t["completion_tokens"] > 0 and t["prompt_tokens"] > 0, f"{key}: usage recorded")
        check(t["finish_reason"] in ("stop", "length"), f"{key}: finish_reason {t['finish_reason']}")
        check(t["correct"] in (0, 1), f"{key}: graded")


def main():
    tmp = tmpdir()
    variants = [
        ("chat-stream", "chat", "true", ["--reasoning-field", "reasoning_content"]),
        ("chat-plain", "chat", "false", ["--reasoning-field", "reasoning"]),
        ("chat-inline", "chat", "true", ["--reasoning-field", "none"]),
        ("completions", "completions", "true", []),
    ]
    for name, api, stream, fake_args in variants:
        db = os.path.join(tmp, f"{name}.db")
        with FakeServer(tmp, *fake_args) as srv:
            cfg = write_config(tmp, name, backend={"url": srv.url, "api": api, "stream": stream},
                               rsa={"population": N, "subset": C, "rounds": T, "tail_tokens": TAU})
            r = rsa("run", cfg, "--db", db, "--quiet")
            check(r.returncode == 0, f"{name}: rsa run exit {r.returncode}: {r.stderr}")
            check("mean_acc" in r.stdout, f"{name}: run prints the report")
            verify_run(db, name, srv, api)
        if name != "chat-stream":
            continue
        rep = rsa("report", "--db", db, "--run", name, "--format", "json")
        check(rep.returncode == 0, f"report exit {rep.returncode}: {rep.stderr}")
        j = json.loads(rep.stdout)
        check(j["run"] == name and len(j["rounds"]) == T + 1, "report json: run and one entry per round")
        for rd in j["rounds"]:
            check(0 <= rd["mean_acc"] <= 1 and 0 <= rd["pass_at_n"] <= 1 and 0 <= rd["maj_at_n"] <= 1,
                  "report json: accuracies are fractions")
            check(rd["mean_acc"] <= rd["pass_at_n"], "mean_acc <= pass@N")
            check(rd["decode_tokens"] > 0 and rd["prefill_tokens"] > 0, "token totals")
        ts = traces(db, name)
        for rd in j["rounds"]:
            want = sum(t["completion_tokens"] for t in ts if t["round"] == rd["round"])
            check(rd["decode_tokens"] == want, f"round {rd['round']} decode_tokens {rd['decode_tokens']} != {want}")
        csv = rsa("report", "--db", db, "--run", name, "--format", "csv")
        check(csv.returncode == 0 and len(csv.stdout.strip().splitlines()) == T + 2, "report csv: header + rounds")
        ex = rsa("export", "--db", db, "--run", name)
        check(ex.returncode == 0, f"export exit {ex.returncode}")
        lines = [json.loads(x) for x in ex.stdout.splitlines()]
        check(len(lines) == len(ts), "export: one line per trace")
        need = ("problem", "round", "slot", "parents", "seed", "prompt", "text", "tail", "tail_tokens",
                "completion_tokens", "prompt_tokens", "finish_reason", "answer", "correct")
        check(all(all(k in x for k in need) for x in lines), "export: every required field")
        check(isinstance(lines[0]["prompt"], list) and lines[0]["prompt"][-1]["role"] == "user",
              "export: chat prompt is the messages array")
        bad = rsa("export", "--db", db)
        check(bad.returncode == 2, "export without --run is a usage error")
        missing = rsa("report", "--db", db, "--run", "nope")
        check(missing.returncode == 2 and "nope" in missing.stderr, "report on an unknown run names it")
    finish()


if __name__ == "__main__":
    main()
