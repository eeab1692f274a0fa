#!/usr/bin/env python3
"""Write bench/data/synthetic.jsonl: small arithmetic problems written by this project.

They are for the quickstart and the tests (competition problems are licensed and never
committed). Every answer is an integer computed here. Deterministic: rerunning the
script reproduces the file byte for byte.
    python3 bench/data/make_synthetic.py > bench/data/synthetic.jsonl
"""
import json
import random


def ways(n):
    """Ways to climb n steps taking 1 or 2 at a time."""
    x, y = 1, 1
    for _ in range(n):
        x, y = y, x + y
    return x


TEMPLATES = [
    ("A baker makes {a} trays of {b} rolls each and sells {c} rolls. How many rolls are left?",
     lambda a, b, c: a * b - c),
    ("What is the remainder when {a}^{b} is divided by {c}?", lambda a, b, c: pow(a, b, c)),
    ("How many integers from 1 to {a}{b} inclusive are divisible by {c}?", lambda a, b, c: int(f"{a}{b}") // c),
    ("Find the sum of all positive divisors of {a} \\cdot {b} + {c}.",
     lambda a, b, c: sum(d for d in range(1, a * b + c + 1) if (a * b + c) % d == 0)),
    ("A staircase has {a} steps and you climb 1 or 2 steps at a time. What is the remainder when the "
     "number of ways to reach the top is divided by {c}?", lambda a, b, c: ways(a) % c),
]


def main():
    rng = random.Random(20261123)
    for i in range(12):
        text, f = TEMPLATES[i % len(TEMPLATES)]
        a, b, c = rng.randint(3, 19), rng.randint(2, 9), rng.randint(3, 13)
        row = {"id": f"synth/{i + 1}", "problem": text.format(a=a, b=b, c=c), "answer": str(f(a, b, c))}
        print(json.dumps(row))


if __name__ == "__main__":
    main()
