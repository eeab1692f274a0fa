#!/usr/bin/env python3
"""make_task.py: the synthetic task the project's tiny ZAYA model is trained on (issue 7).

Task family "modchain": start from a number, apply a chain of operations (add k, subtract k,
multiply by k), reducing modulo m after every step; the answer is the final residue.
Difficulty knob: the number of steps (and the modulus range grows with it).

    Start with 7 and work modulo 11. Step 1: add 5. Step 2: multiply by 3. Step 3: subtract 9.
    What is the result?
    Step 1: 7 + 5 = 12 = 1. Step 2: 1 * 3 = 3. Step 3: 3 - 9 = -6 = 5. The answer is \\boxed{5}.

Every step of the solution is one short line of exact arithmetic, so a small model that slips once
gives a wrong but plausible answer (single attempts are noisy) and a correct candidate is easy to
verify step by step (aggregation has something to work with). The steps are numbered in the problem
and in the solution, so finding the next operation is a lookup, not counting (a 2-million-parameter
model learns the arithmetic; it struggles to count its way through an unnumbered list).

Task family "find" (the inverse problem, --find-*): the start is unknown and the result is given.

    Start with x and work modulo 11. Step 1: add 5. Step 2: multiply by 3. The result is 3.
    What is x?

Every operation is invertible modulo a prime (k is never 0 for multiply), so exactly one x in
1..m-1 works. The worked solutions are guess-and-check: pick a start, run the chain forward, compare:

    Start with x = 4. Step 1: 4 + 5 = 9. Step 2: 9 * 3 = 27 = 5. Check: 5 - 3 = 2, not 0, so
    x = 4 fails. The answer is \\boxed{4}.
    Start with x = 7. Step 1: 7 + 5 = 12 = 1. Step 2: 1 * 3 = 3. Check: 3 - 3 = 0 as needed, so
    x = 7 works. The answer is \\boxed{7}.

Checking a candidate is a few lines of the arithmetic the model knows; finding x without inverting
the chain is luck (1 in m-1 per guess). A single attempt is one guess and one check, and it always
commits to its guess, so votes over attempts are spread over the residues, while an aggregator
that reads the candidates' checks can keep a start that worked (or try one that no candidate tried).
This is the regime where recursive aggregation should beat majority voting: verifying is easy,
generating is hard.

Splits never overlap (deduplicated by problem text: train first, then val, then test, so the
evaluation splits can be regenerated at another difficulty without changing the training data).
Outputs under --out (default .):
  train.jsonl, val.jsonl    {"id", "problem", "answer", "solution", "difficulty"}
  test.jsonl                {"id", "problem", "answer"}  (the orchestrator's dataset format)

Python 3.11 standard library only. Deterministic for a given --seed and sizes:
    python3 tests/reference/train/make_task.py --out /tmp/task --train 20000 --val 500 --test 200
"""
import argparse
import json
import os
import random
import sys

OPS = ("add", "sub", "mul")
WORDS = {"add": "add %d", "sub": "subtract %d", "mul": "multiply by %d"}
SYM = {"add": "+", "sub": "-", "mul": "*"}


MODULI = (7, 11, 13)


def moduli(difficulty):
    """Moduli allowed at a difficulty (the same small set at every difficulty: longer chains are the
    knob, so the arithmetic facts a model must know do not change with difficulty)."""
    return MODULI


def draw_ops(rng, m, n):
    """n random operations modulo m: [(op, k)] (multipliers are never 0 or 1)."""
    ops = []
    for _ in range(n):
        op = rng.choice(OPS)
        ops.append((op, rng.randrange(2, m) if op == "mul" else rng.randrange(1, m)))
    return ops


def stated(ops):
    """The operations as the problem states them: "Step 1: add 5. Step 2: multiply by 3." """
    return " ".join("Step %d: %s." % (i + 1, WORDS[op] % k) for i, (op, k) in enumerate(ops))


def make_problem(rng, difficulty):
    """One problem with `difficulty` steps: returns (problem, answer, solution)."""
    m = rng.choice(moduli(difficulty))
    start = rng.randrange(1, m)
    ops = draw_ops(rng, m, difficulty)
    x, lines = chain(start, m, ops)
    problem = "Start with %d and work modulo %d. %s What is the result?" % (start, m, stated(ops))
    solution = " ".join(lines) + " The answer is \\boxed{%d}." % x
    return problem, x, solution


def worked(a, sym, b, m):
    """One line of exact arithmetic, "a sym b = raw = y" (just "= y" when raw is already reduced):
    returns (text, y)."""
    raw = a + b if sym == "+" else a - b if sym == "-" else a * b
    y = raw % m
    return ("%d %s %d = %d" % (a, sym, b, y) if raw == y else "%d %s %d = %d = %d" % (a, sym, b, raw, y)), y


def chain(x, m, ops):
    """The worked forward chain from x: (result, ["Step i: ..."] lines). ops: [(op, k)]."""
    lines = []
    for i, (op, k) in enumerate(ops):
        text, x = worked(x, SYM[op], k, m)
        lines.append("Step %d: %s." % (i + 1, text))
    return x, lines


def find_attempt(x, m, ops, target):
    """One guess-and-check attempt at a "find" problem starting from the guess x."""
    y, lines = chain(x, m, ops)
    # the check is one more subtraction in the chain's own format (result - wanted, reduced): the
    # verdict then hangs on one digit just written (0 or not), not on comparing two numbers
    diff, _ = worked(y, "-", target, m)
    verdict = ("Check: %s as needed, so x = %d works." % (diff, x)) if y == target else \
              ("Check: %s, not 0, so x = %d fails." % (diff, x))
    return "Start with x = %d. %s %s The answer is \\boxed{%d}." % (x, " ".join(lines), verdict, x)


def make_find_problem(rng, difficulty):
    """One inverse problem with `difficulty` steps: returns (problem, answer, solution); the solution
    is the attempt that guessed right."""
    m = rng.choice(MODULI)
    x = rng.randrange(1, m)
    ops = draw_ops(rng, m, difficulty)
    target, _ = chain(x, m, ops)
    problem = "Start with x and work modulo %d. %s The result is %d. What is x?" % (m, stated(ops), target)
    return problem, x, find_attempt(x, m, ops, target)


def generate(n, rng, dmin, dmax, seen, prefix, make=make_problem):
    rows, tries = [], 0
    while len(rows) < n:
        tries += 1
        if tries > 50 * n + 1000:
            sys.exit("%s: only %d unique problems found (want %d): widen the difficulty range" % (prefix, len(rows), n))
        d = rng.randint(dmin, dmax)
        p, a, s = make(rng, d)
        if p in seen:
            continue
        seen.add(p)
        rows.append({"id": "%s-%05d" % (prefix, len(rows)), "problem": p, "answer": str(a),
                     "solution": s, "difficulty": d})
    return rows


def write(path, rows, keys):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in keys}, ensure_ascii=False) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=".")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--val", type=int, default=500)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--min-steps", type=int, default=2, help="easiest difficulty (training)")
    ap.add_argument("--max-steps", type=int, default=6, help="hardest difficulty (training)")
    ap.add_argument("--eval-min-steps", type=int, default=4, help="easiest difficulty in val/test")
    ap.add_argument("--eval-max-steps", type=int, default=6, help="hardest difficulty in val/test")
    ap.add_argument("--find-train", type=int, default=0, help="inverse (find x) problems in train")
    ap.add_argument("--find-val", type=int, default=0)
    ap.add_argument("--find-test", type=int, default=0)
    ap.add_argument("--find-min-steps", type=int, default=1)
    ap.add_argument("--find-max-steps", type=int, default=4)
    ap.add_argument("--find-eval-min-steps", type=int, default=2)
    ap.add_argument("--find-eval-max-steps", type=int, default=3)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    seen = set()
    # one stream per split; train first so that val/test can change difficulty without touching train
    train = generate(a.train, random.Random(a.seed * 1000 + 1), a.min_steps, a.max_steps, seen, "train")
    val = generate(a.val, random.Random(a.seed * 1000 + 2), a.eval_min_steps, a.eval_max_steps, seen, "val")
    test = generate(a.test, random.Random(a.seed * 1000 + 3), a.eval_min_steps, a.eval_max_steps, seen, "test")
    # the inverse family after all of the forward one (its own streams), so adding it changes no
    # forward problem; the test split lists the forward problems first
    ftrain = generate(a.find_train, random.Random(a.seed * 1000 + 11), a.find_min_steps, a.find_max_steps,
                      seen, "train-find", make_find_problem)
    fval = generate(a.find_val, random.Random(a.seed * 1000 + 12), a.find_eval_min_steps,
                    a.find_eval_max_steps, seen, "val-find", make_find_problem)
    ftest = generate(a.find_test, random.Random(a.seed * 1000 + 13), a.find_eval_min_steps,
                     a.find_eval_max_steps, seen, "test-find", make_find_problem)
    train, val, test = train + ftrain, val + fval, test + ftest
    full = ("id", "problem", "answer", "solution", "difficulty")
    write(os.path.join(a.out, "train.jsonl"), train, full)
    write(os.path.join(a.out, "val.jsonl"), val, full)
    write(os.path.join(a.out, "test.jsonl"), test, ("id", "problem", "answer"))
    print("train %d, val %d, test %d (seed %d) -> %s" % (len(train), len(val), len(test), a.seed, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
