"""Grading parity: `rsa grade --jsonl -` on the committed corpus (tests/grading/corpus.jsonl) and,
when ../shared/datasets exists, on the cases tests/grading/hmmt_cases.py generates from the HMMT
answers; each verdict is compared with the case's `expected` and with math-verify's verdict as the
RSA reference code computes it (fixtures tests/grading/mathverify.jsonl by id and
tests/grading/mathverify-hmmt.jsonl by key, made by tests/reference/mathverify/run.py).

Usage: python3 tests/integration/test_grade_parity.py [PATH/TO/rsa] [--write-report FILE]
  --write-report FILE   also writes the markdown report (results/grading-parity.md)

Fails (exit 1) when
  (a) a verdict differs from `expected` and the case has no "known_wrong": "<reason>";
  (b) on the cases where math-verify is right (mv == expected), rsa agrees with it on < 99%
      (checked for the corpus and the HMMT cases separately);
  a fixture is missing or stale, the corpus is not what make_corpus.py writes, a corpus case
  where math-verify is wrong has no note, or `rsa grade` fails or answers out of order.
HMMT cases are shown by id and rule only: never answer text.
"""
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, check, finish  # noqa: E402

GRADING = os.path.join(ROOT, "tests", "grading")
CORPUS = os.path.join(GRADING, "corpus.jsonl")
MV_CORPUS = os.path.join(GRADING, "mathverify.jsonl")
MV_HMMT = os.path.join(GRADING, "mathverify-hmmt.jsonl")
SHARED_DATA = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
MV_README = "tests/reference/mathverify/README.md"
MIN_MV_AGREEMENT = 0.99

sys.path.insert(0, GRADING)
import hmmt_cases  # noqa: E402


def key(c):
    return hashlib.sha256((c["gold"] + "\n" + c["response"]).encode("utf-8")).hexdigest()


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def args():
    rsa = os.path.join(ROOT, "build", "rsa")
    report = None
    a = sys.argv[1:]
    i = 0
    while i < len(a):
        if a[i] == "--write-report":
            report = a[i + 1]
            i += 2
        else:
            rsa = a[i]
            i += 1
    return os.path.abspath(rsa), report


def hmmt_inputs():
    """Generated HMMT cases, or None when ../shared/datasets is absent."""
    if not os.path.isdir(SHARED_DATA):
        return None
    r = subprocess.run([sys.executable, os.path.join(GRADING, "hmmt_cases.py"), SHARED_DATA],
                       capture_output=True, text=True, timeout=120)
    if not check(r.returncode == 0, f"hmmt_cases.py failed: {r.stderr[-2000:]}"):
        return []
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def grade(rsa, cases):
    """Runs rsa grade --jsonl - on cases; returns the output objects (None on failure)."""
    lines = []
    for c in cases:
        o = {"id": c["id"], "gold": c["gold"], "response": c["response"]}
        for k in ("strict", "after_think"):
            if k in c:
                o[k] = c[k]
        lines.append(json.dumps(o, ensure_ascii=False))
    try:
        r = subprocess.run([rsa, "grade", "--jsonl", "-"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=250)
    except subprocess.TimeoutExpired:
        check(False, "rsa grade --jsonl timed out (250 s)")
        return None
    out = []
    for line in r.stdout.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            check(False, f"rsa grade printed a non-JSON line: {line[:200]!r}")
            return None
    check(r.returncode == 0, f"rsa grade exit {r.returncode}: {r.stderr[-2000:]}")
    if not check(len(out) == len(cases), f"rsa grade answered {len(out)} of {len(cases)} lines"):
        if len(out) < len(cases):
            print(f"  first unanswered case: {cases[len(out)]['id']}")
        return None
    for c, o in zip(cases, out):
        if not check(o.get("id") == c["id"], f"rsa grade answered out of order: {o.get('id')} for {c['id']}"):
            return None
        if not check(isinstance(o.get("correct"), bool), f"{c['id']}: no boolean 'correct' in {o}"):
            return None
    return out


def group_of(c):
    return c["tags"][1] if c["tags"][0] == "hmmt" else c["tags"][0]


def rule_why(c):
    return hmmt_cases.RULES[c["tags"][1]][3]


def evaluate(cases, outs, mvs, hmmt):
    """Per-case rows: dicts with the verdicts and reasons."""
    rows = []
    for c, o in zip(cases, outs):
        m = mvs.get(c["id"] if not hmmt else key(c))
        rows.append({
            "id": c["id"], "group": group_of(c), "expected": c["expected"], "ours": o["correct"],
            "status": o.get("status"), "reason": o.get("reason") or "",
            "extracted": None if hmmt else o.get("extracted"),
            "mv": None if m is None else m["mv"], "mv_error": None if m is None else m.get("mv_error"),
            "note": rule_why(c) if hmmt else c.get("note", ""), "known_wrong": c.get("known_wrong"),
        })
    return rows


def stats(rows):
    n = len(rows)
    ours_ok = sum(r["ours"] == r["expected"] for r in rows)
    mv_rows = [r for r in rows if r["mv"] is not None]
    mv_ok = sum(r["mv"] == r["expected"] for r in mv_rows)
    agree = sum(r["ours"] == r["mv"] for r in mv_rows)
    mv_right = [r for r in mv_rows if r["mv"] == r["expected"]]
    agree_right = sum(r["ours"] == r["mv"] for r in mv_right)
    return {"n": n, "true": sum(r["expected"] for r in rows), "ours_ok": ours_ok, "mv_n": len(mv_rows),
            "mv_ok": mv_ok, "agree": agree, "mv_right": len(mv_right), "agree_right": agree_right}


def pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


def check_set(name, rows, hmmt):
    s = stats(rows)
    for r in rows:
        if r["ours"] != r["expected"]:
            if r["known_wrong"]:
                print(f"  known wrong {r['id']}: {r['known_wrong']}")
            else:
                what = f"{r['status']}: {r['reason']}" if hmmt else \
                    f"{r['status']}: {r['reason']} (extracted {short(r['extracted'])}; note: {r['note']})"
                check(False, f"{name} {r['id']}: rsa says {r['ours']}, expected {r['expected']} -- {what}")
        elif r["known_wrong"]:
            print(f"  NOTE {r['id']} is marked known_wrong but now passes: remove the mark")
    if s["mv_right"]:
        rate = s["agree_right"] / s["mv_right"]
        check(rate >= MIN_MV_AGREEMENT,
              f"{name}: agreement with math-verify where it is right {pct(s['agree_right'], s['mv_right'])}"
              f" < {MIN_MV_AGREEMENT:.0%}")
    print(f"{name}: {s['n']} cases ({s['true']} expected true); rsa = expected {s['ours_ok']}/{s['n']}"
          f" ({pct(s['ours_ok'], s['n'])}); math-verify = expected {s['mv_ok']}/{s['mv_n']}"
          f" ({pct(s['mv_ok'], s['mv_n'])}); rsa = math-verify {s['agree']}/{s['mv_n']}"
          f" ({pct(s['agree'], s['mv_n'])}), where math-verify is right"
          f" {s['agree_right']}/{s['mv_right']} ({pct(s['agree_right'], s['mv_right'])})")
    for r in rows:
        if r["mv"] is not None and r["ours"] != r["mv"]:
            right = "rsa" if r["ours"] == r["expected"] else "math-verify"
            why = r["note"] if right == "rsa" else (r["known_wrong"] or f"rsa {r['status']}: {r['reason']}")
            print(f"  rsa != math-verify {r['id']}: rsa {r['ours']}, mv {r['mv']}; {right} is right: {why}")
    return s


def short(text, n=80):
    """repr of text, cut to about n characters."""
    if text is None:
        return "None"
    return repr(text) if len(text) <= n else repr(text[:n // 2]) + f"...({len(text)} chars)..." + repr(text[-n // 4:])


def md(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|").replace("\n", " ")


def grader_version():
    try:
        with open(os.path.join(ROOT, "rsa", "grade.h"), encoding="utf-8") as f:
            h = f.read()
        name = re.search(r'#define GRADE_NAME "([^"]*)"', h).group(1)
        ver = re.search(r'#define GRADE_VERSION "([^"]*)"', h).group(1)
        return f"{name}/{ver}"
    except (OSError, AttributeError):
        return "unknown"


def mv_version():
    try:
        with open(os.path.join(ROOT, "tests", "reference", "mathverify", "requirements.txt")) as f:
            for line in f:
                if line.startswith("math-verify"):
                    return line.strip()
    except OSError:
        pass
    return "unknown"


def group_table(rows, label):
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    out = [f"| {label} | cases | expected true | rsa = expected | math-verify = expected | rsa = math-verify |",
           "|---|---:|---:|---:|---:|---:|"]
    for g in sorted(groups):
        s = stats(groups[g])
        out.append(f"| {g} | {s['n']} | {s['true']} | {s['ours_ok']} | {s['mv_ok']} | {s['agree']} |")
    return out


def disagreement_table(rows, hmmt):
    out = ["| case | expected | rsa | math-verify | right | reason |", "|---|---|---|---|---|---|"]
    n = 0
    for r in rows:
        if r["mv"] is None or r["ours"] == r["mv"]:
            continue
        n += 1
        right = "rsa" if r["ours"] == r["expected"] else "math-verify"
        if right == "rsa":
            why = r["note"]
        else:
            why = r["known_wrong"] or ("rsa " + (r["status"] or "") + ("" if hmmt or not r["reason"] else ": " + r["reason"]))
        out.append(f"| {md(r['id'])} | {r['expected']} | {r['ours']} | {r['mv']} | {right} | {md(why)} |")
    return out if n else ["None."]


def write_report(path, sets):
    lines = [
        "# Grading parity: the rsa grader vs math-verify",
        "",
        "Generated by `python3 tests/integration/test_grade_parity.py build/rsa --write-report "
        "results/grading-parity.md`; do not edit by hand.",
        "",
        f"- rsa grader: `{grader_version()}` (`rsa grade --jsonl -`).",
        f"- Reference: `{mv_version()}` run as the RSA reference code uses it: last `\\boxed{{}}` of the"
        " response, both sides wrapped in `$...$`, `verify(parse(gold), parse(answer))`"
        " (tests/reference/mathverify/run.py).",
        "- `expected` is the verdict a careful competition grader should give; the corpus notes and the"
        " rule table of tests/grading/hmmt_cases.py say why wherever math-verify differs.",
        "",
        "| set | cases | expected true | rsa = expected | math-verify = expected | rsa = math-verify |"
        " rsa = math-verify where math-verify is right |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rows, _ in sets:
        s = stats(rows)
        lines.append(f"| {name} | {s['n']} | {s['true']} | {s['ours_ok']} ({pct(s['ours_ok'], s['n'])}) |"
                     f" {s['mv_ok']} ({pct(s['mv_ok'], s['mv_n'])}) | {s['agree']} ({pct(s['agree'], s['mv_n'])}) |"
                     f" {s['agree_right']}/{s['mv_right']} ({pct(s['agree_right'], s['mv_right'])}) |")
    if not any(name.startswith("hmmt") for name, _, _ in sets):
        lines += ["", "HMMT cases: not run (`../shared/datasets` absent)."]
    for name, rows, hmmt in sets:
        lines += ["", f"## {name}: per {'rule' if hmmt else 'tag'}", ""] + group_table(rows, "rule" if hmmt else "tag")
        lines += ["", f"## {name}: rsa vs math-verify disagreements", ""] + disagreement_table(rows, hmmt)
        wrong = [r for r in rows if r["ours"] != r["expected"]]
        lines += ["", f"## {name}: rsa verdicts that differ from expected ({len(wrong)})", ""]
        if not wrong:
            lines.append("None.")
        for r in wrong:
            tail = "" if hmmt else (f": {md(r['reason'])}" if r["reason"] else "") + \
                f" (extracted `{md(short(r['extracted']))}`)"
            kw = f" [known_wrong: {md(r['known_wrong'])}]" if r["known_wrong"] else ""
            lines.append(f"- {md(r['id'])}: expected {r['expected']}, rsa {r['status']}{tail}{kw}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


def main():
    rsa, report = args()
    if not check(os.access(rsa, os.X_OK), f"no rsa binary at {rsa}"):
        finish()
    r = subprocess.run([sys.executable, os.path.join(GRADING, "make_corpus.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"corpus.jsonl is not what make_corpus.py writes: {r.stdout.strip()}")

    corpus = load_jsonl(CORPUS)
    fix = {m["id"]: m for m in load_jsonl(MV_CORPUS)} if os.path.exists(MV_CORPUS) else {}
    stale = [c["id"] for c in corpus if c["id"] not in fix or fix[c["id"]]["key"] != key(c)]
    check(not stale, f"{len(stale)} corpus cases lack a current math-verify verdict (e.g. {stale[:3]}):"
                     f" regenerate tests/grading/mathverify.jsonl, see {MV_README}")
    for c in corpus:
        m = fix.get(c["id"])
        if m is not None and m["mv"] != c["expected"]:
            check(bool(c.get("note")), f"{c['id']}: math-verify says {m['mv']}, expected {c['expected']},"
                                       " and the case has no note saying why")
    sets = []
    outs = grade(rsa, corpus)
    if outs is not None:
        rows = evaluate(corpus, outs, fix, hmmt=False)
        sets.append(("corpus", rows, False))

    gen = hmmt_inputs()
    if gen is None:
        print("HMMT cases skipped: ../shared/datasets is absent")
    elif gen:
        hfix = {m["key"]: m for m in load_jsonl(MV_HMMT)} if os.path.exists(MV_HMMT) else {}
        missing = [c["id"] for c in gen if key(c) not in hfix]
        check(not missing, f"{len(missing)} generated HMMT cases lack a math-verify verdict (e.g. {missing[:3]}):"
                           f" regenerate tests/grading/mathverify-hmmt.jsonl, see {MV_README}")
        houts = grade(rsa, gen)
        if houts is not None:
            sets.append(("hmmt", evaluate(gen, houts, hfix, hmmt=True), True))

    for name, rows, hmmt in sets:
        check_set(name, rows, hmmt)
    if report and sets:
        write_report(report, sets)
    finish()


if __name__ == "__main__":
    main()
