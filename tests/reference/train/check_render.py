#!/usr/bin/env python3
"""check_render.py: train.py builds its aggregation examples exactly as the orchestrator builds its prompts.

Reads a finished engine-backend run from its SQLite database and, for every trace, rebuilds the prompt
with train.py's Renderer (round 0: the initial template; later rounds: the Markovian template with the
parents' stored tail ids spliced in by id) and checks that the text equals the stored prompt and that
the number of ids equals the stored prompt_tokens; then re-cuts every trace's tail from its
re-encoded text with train.py's tail rule and compares it with the stored tail ids.

    .venv-zaya/bin/python tests/reference/train/check_render.py MODEL_DIR RUN.db RUN_NAME TAU
Exit status 1 on any difference.
"""
import json, os, sqlite3, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train
from tokenizers import Tokenizer
model, db, run = sys.argv[1], sys.argv[2], sys.argv[3]
tok = Tokenizer.from_file(model + "/tokenizer.json")
r = train.Renderer(tok)
con = sqlite3.connect(db); con.row_factory = sqlite3.Row
ts = [dict(x) for x in con.execute("SELECT p.problem_id, p.problem AS ptext, t.* FROM traces t JOIN runs r ON r.id=t.run_id JOIN problems p ON p.run_id=t.run_id AND p.idx=t.problem WHERE r.name=?", (run,))]
by = {(t["problem_id"], t["round"], t["slot"]): t for t in ts}
ok = bad = 0
for t in ts:
    if t["round"] == 0:
        ids = r.round0(t["ptext"])
    else:
        cands = []
        for p in json.loads(t["parents"]):
            pt = by[(t["problem_id"], t["round"] - 1, p)]
            b = pt["tail_ids"]
            tail = [int.from_bytes(b[i:i+4], "little", signed=True) for i in range(0, len(b), 4)]
            cands.append((tail, bool(pt["tail_truncated"])))
        ids = r.aggregation_tails(t["ptext"], cands)
    txt = tok.decode(ids, skip_special_tokens=False)
    u = txt[len("<bos><|im_start|>user\n"):]
    if not u.startswith(t["prompt"]):
        i = next(i for i in range(len(t["prompt"])) if i >= len(u) or u[i] != t["prompt"][i])
        print("text differs at", i, repr(t["prompt"][i-40:i+40]), repr(u[i-40:i+40])); sys.exit(1)
    if len(ids) == t["prompt_tokens"]: ok += 1
    else:
        bad += 1
        if bad < 3: print("mismatch", t["problem_id"], t["round"], t["slot"], len(ids), t["prompt_tokens"])
print("prompt token counts: %d match, %d differ" % (ok, bad))
same = diff = 0
for t in ts:
    b = t["tail_ids"]
    stored = [int.from_bytes(b[i:i+4], "little", signed=True) for i in range(0, len(b), 4)]
    mine, cut = r.tail(r.enc(t["text"]), int(sys.argv[4]))
    if mine == stored and cut == bool(t["tail_truncated"]): same += 1
    else: diff += 1
print("tails recut from the re-encoded trace text: %d same, %d differ" % (same, diff))
sys.exit(1 if bad or diff else 0)
