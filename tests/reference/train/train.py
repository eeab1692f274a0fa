#!/usr/bin/env python3
"""train.py: train the project's built-in tiny ZAYA model on the make_task.py task (issue 7).

  1. a 1024-piece Gemma-3-style tokenizer (SentencePiece-style BPE with byte fallback), trained with
     PyPI `tokenizers` exactly as tests/reference/tokenizer/make_tiny_tokenizer.py trains the quickstart
     one (its train()/dump_tokenizer()/tokenizer_config() are reused) on its text plus the task corpus
     and the aggregation prompts;
  2. a ZayaForCausalLM (upstream transformers) with the quickstart geometry
     (configs/models/quickstart/config.json: 4 layers, hidden 256, 4 experts), fp32 training;
  3. examples rendered as the orchestrator renders them on the engine backend (sampler/engine_backend.c):
     the zaya1 chat template (default: thinking on, i.e. the generation prompt is just
     "<|im_start|>assistant\\n"); round 0 = configs/prompts/initial.txt; aggregation = the Markovian
     template configs/prompts/markovian.txt with C candidates, some wrong, each cut to its last tau
     token ids (the truncation marker when cut) and spliced into the prompt BY ID, the text between
     them encoded piece by piece. Target: a correct step-by-step solution + <|im_end|>; loss on the
     target only;
  4. a curriculum: the hardest chain length grows from 2 steps to --max-steps over the first
     --curriculum fraction of training; aggregation batches (--agg-frac) start at --agg-start;
  5. AdamW + warmup/cosine LR, seeded (torch, python random), torch.set_num_threads(--threads);
  6. the weights rounded to bf16 and saved with save_pretrained (safetensors + config.json), with
     tokenizer.json/tokenizer_config.json/generation_config.json, into --out; greedy accuracy per chain
     length on the validation split (with the bf16-rounded weights);
  7. --golden FILE: transformers' fp32 logits of the saved model on a fixed aggregation prompt
     (prompt_ids, greedy_ids, full_logits, decode_logits: the format of tests/fixtures/zaya/*/golden).

The exact command that made configs/models/modchain is in tests/reference/train/README.md.
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time

import torch
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference", "tokenizer"))
sys.path.insert(0, HERE)
import make_tiny_tokenizer as mtt  # noqa: E402
import make_task  # noqa: E402

from transformers.models.zaya import ZayaConfig, ZayaForCausalLM  # noqa: E402

PAD, BOS, IM_START, IM_END = 0, 2, 4, 5


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ---------------------------------------------------------------------------------------------
# tokenizer

def build_tokenizer(train_rows, out_dir, seed):
    base = mtt.training_text()
    extra = []
    for r in train_rows[:3000]:
        extra.append(r["problem"])
        extra.append(r["solution"])
    # the aggregation boilerplate as often as a run sees it, so its words become single pieces
    markov = read(os.path.join(ROOT, "configs", "prompts", "markovian.txt"))
    initial = read(os.path.join(ROOT, "configs", "prompts", "initial.txt"))
    extra += [markov] * 300 + [initial] * 300
    mtt.training_text = lambda: base + extra
    d = mtt.train()
    text = mtt.dump_tokenizer(d)
    tok = Tokenizer.from_str(text)
    mtt.check(tok)
    chat_template = read(os.path.join(ROOT, "tests", "reference", "chat", "zaya1.jinja"))
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(mtt.tokenizer_config(chat_template), ensure_ascii=False, indent=2) + "\n")
    return tok


# ---------------------------------------------------------------------------------------------
# prompts, rendered as the orchestrator renders them

MARKER = re.compile(r"\{\{#truncated\}\}(.*?)\{\{/truncated\}\}", re.S)
STANDALONE = re.compile(r"(^|\n)[ \t]*(\{\{[#/^][^}]*\}\})[ \t]*\n")


def standalone(template):
    """Mustache's rule, as rsa/prompt.c applies it: a line holding only a section tag goes, newline too."""
    return STANDALONE.sub(r"\1\2", template)
CANDS = re.compile(r"\{\{#candidates\}\}(.*?)\{\{/candidates\}\}", re.S)


class Renderer:
    def __init__(self, tok):
        prompts = os.path.join(ROOT, "configs", "prompts")
        self.initial = read(os.path.join(prompts, "initial.txt")).rstrip("\n")
        markov = standalone(read(os.path.join(prompts, "markovian.txt")).rstrip("\n"))
        m = CANDS.search(markov)
        self.pre, self.block, self.post = markov[:m.start()], m.group(1), markov[m.end():]
        self.tok = tok

    def enc(self, s):
        return self.tok.encode(s, add_special_tokens=False).ids if s else []

    def initial_prompt(self, problem):
        return self.initial.replace("{problem}", problem)

    def chat_ids(self, pieces):
        """pieces: the user message as a list of str (encoded) and list-of-ids (spliced) parts."""
        ids = []
        text = "<bos><|im_start|>user\n"
        for p in pieces:
            if isinstance(p, str):
                text += p
            else:
                ids += self.enc(text)
                ids += p
                text = ""
        text += "<|im_end|>\n<|im_start|>assistant\n"
        return ids + self.enc(text)

    def round0(self, problem):
        return self.chat_ids([self.initial_prompt(problem)])

    def blank(self, i):
        return self.tok.decode([i], skip_special_tokens=False).strip() == ""

    def tail(self, ids, tau):
        """rsa/tail.c tail_cut_ids on a whole trace: the last tau ids (tau 0 = all), then no
        whitespace-only token at either end; returns (ids, truncated)."""
        j, b = 0, len(ids)
        if tau > 0 and b > tau:
            j = b - tau
        cut = j > 0
        while j < b and self.blank(ids[j]):
            j += 1
        while b > j and self.blank(ids[b - 1]):
            b -= 1
        return ids[j:b], cut

    def aggregation(self, problem, cand_ids, tau):
        """cand_ids: the candidates' generated ids; each keeps its last tau ids (tau 0 = all)."""
        return self.aggregation_tails(problem, [self.tail(ids, tau) for ids in cand_ids])

    def aggregation_tails(self, problem, tails):
        """tails: (ids, truncated) per candidate, already cut (as the store keeps them)."""
        pieces = [self.pre.replace("{initial_prompt}", self.initial_prompt(problem))]
        for i, (tail, cut) in enumerate(tails):
            mm = MARKER.search(self.block)
            blk = self.block[:mm.start()] + (mm.group(1) if cut else "") + self.block[mm.end():]
            blk = blk.replace("{i}", str(i + 1))
            a, b = blk.split("{candidate}")
            pieces += [a, list(tail), b]
        pieces.append(self.post)
        return self.chat_ids(pieces)


def parse_ops(text, problem):
    """The numbered operations of a problem's text: [(op, k)] in step order."""
    ops = []
    for i, o in enumerate(re.findall(r"Step (\d+): ([a-z ]+) (\d+)\.", text)):
        assert int(o[0]) == i + 1, problem
        ops.append(("add" if o[1].startswith("add") else "sub" if o[1].startswith("sub") else "mul", int(o[2])))
    return ops


def parse_problem(problem):
    m = re.match(r"Start with (\d+) and work modulo (\d+)\. (.*) What is the result\?", problem)
    return int(m.group(1)), int(m.group(2)), parse_ops(m.group(3), problem)


FIND = re.compile(r"Start with x and work modulo (\d+)\. (.*) The result is (\d+)\. What is x\?")


def parse_find(problem):
    """An inverse ("find") problem: (modulus, [(op, k)], target), or None for a forward problem."""
    m = FIND.match(problem)
    if not m:
        return None
    return int(m.group(1)), parse_ops(m.group(2), problem), int(m.group(3))


def write_solution(problem, errors, rng):
    """The solution of `problem`, with a wrong result at each step index in `errors` (the chain then
    continues correctly from the wrong value: a plausible slip)."""
    x, mod, ops = parse_problem(problem)
    lines = []
    for i, (op, k) in enumerate(ops):
        raw = x + k if op == "add" else x - k if op == "sub" else x * k
        y = raw % mod
        sym = make_task.SYM[op]
        if i in errors:
            kind = rng.random()
            if kind < 0.5 and raw != y:      # a wrong reduction of a right raw value
                y = (y + rng.randrange(1, mod)) % mod
                lines.append("Step %d: %d %s %d = %d = %d." % (i + 1, x, sym, k, raw, y))
            else:                            # a wrong raw value, reduced consistently or not
                bad = raw + rng.choice([-3, -2, -1, 1, 2, 3])
                y = bad % mod if rng.random() < 0.7 else (bad + rng.randrange(1, mod)) % mod
                lines.append("Step %d: %d %s %d = %d." % (i + 1, x, sym, k, y) if bad == y else
                             "Step %d: %d %s %d = %d = %d." % (i + 1, x, sym, k, bad, y))
        else:
            lines.append("Step %d: %d %s %d = %d." % (i + 1, x, sym, k, y) if raw == y else
                         "Step %d: %d %s %d = %d = %d." % (i + 1, x, sym, k, raw, y))
        x = y
    return " ".join(lines) + " The answer is \\boxed{%d}." % x


def other_starts(m, tried):
    """The starts 1..m-1 not in `tried`."""
    return [v for v in range(1, m) if v not in tried]


class Sampler:
    """Seeded training examples with a chain-length curriculum."""

    def __init__(self, rows, r, a, rng):
        self.by_d, self.find = {}, []
        for row in rows:
            if parse_find(row["problem"]):
                self.find.append(row)
            else:
                self.by_d.setdefault(row["difficulty"], []).append(row)
        self.r, self.a, self.rng = r, a, rng

    def pick_find(self):
        return self.find and self.rng.random() < self.a.find_frac

    def row(self, dmax):
        ds = [d for d in sorted(self.by_d) if d <= dmax]
        return self.rng.choice(self.by_d[self.rng.choice(ds)])

    def single(self, dmax):
        if self.pick_find():
            # a round-0 attempt at an inverse problem: one uniform guess, checked honestly
            row = self.rng.choice(self.find)
            m, ops, target = parse_find(row["problem"])
            if self.rng.random() < self.a.find_check:
                # a checking example: the guess is right half the time, and it is given (no loss on
                # it), so the model learns the verdict from balanced classes while its own guesses
                # stay uniform
                x = int(row["answer"])
                guess = x if self.rng.random() < 0.5 else self.rng.choice(other_starts(m, [x]))
                text = make_task.find_attempt(guess, m, ops, target)
                head = "Start with x = %d." % guess
                given, rest = self.r.enc(head), self.r.enc(text[len(head):]) + [IM_END]
                assert given + rest[:-1] == self.r.enc(text), text
                return self.r.round0(row["problem"]) + given, rest
            guess = self.rng.randrange(1, m)
            return self.r.round0(row["problem"]), self.r.enc(make_task.find_attempt(guess, m, ops, target)) + [IM_END]
        row = self.row(dmax)
        return self.r.round0(row["problem"]), self.r.enc(row["solution"]) + [IM_END]

    def find_aggregation(self):
        """C guess-and-check attempts (the right start in none of them with probability 0.4, else in
        1..C of them); target: the attempt that worked, rechecked, or else a guess that no candidate
        tried (uniform over the untried starts), checked honestly."""
        a, rng = self.a, self.rng
        row = rng.choice(self.find)
        m, ops, target = parse_find(row["problem"])
        x = int(row["answer"])
        C = rng.randint(a.agg_cmin, a.agg_cmax)
        good = 0 if rng.random() < 0.4 else rng.randint(1, C)
        wrong = other_starts(m, [x])
        guesses = [x] * good + [rng.choice(wrong) for _ in range(C - good)]
        rng.shuffle(guesses)
        nxt = x if good else rng.choice(other_starts(m, guesses))
        tau = rng.randint(a.tau_min, a.tau_max)
        ids = [self.r.enc(make_task.find_attempt(g, m, ops, target)) for g in guesses]
        return (self.r.aggregation(row["problem"], ids, tau),
                self.r.enc(make_task.find_attempt(nxt, m, ops, target)) + [IM_END])

    def aggregation(self, dmax):
        if self.pick_find():
            return self.find_aggregation()
        a, rng = self.a, self.rng
        row = self.row(max(3, dmax))
        n = len(parse_problem(row["problem"])[2])
        C = rng.randint(a.agg_cmin, a.agg_cmax)
        # how many candidates are right: uniform 0..C, or each one right with probability --agg-good
        good = rng.randint(0, C) if a.agg_good < 0 else sum(rng.random() < a.agg_good for _ in range(C))
        cands = []
        for j in range(C):
            if j < good:
                cands.append(row["solution"])
            else:
                errs = set(rng.sample(range(n), min(n, 1 if rng.random() < 0.7 else 2)))
                cands.append(write_solution(row["problem"], errs, rng))
        rng.shuffle(cands)
        tau = rng.randint(a.tau_min, a.tau_max)
        ids = [self.r.enc(c) for c in cands]
        return self.r.aggregation(row["problem"], ids, tau), self.r.enc(row["solution"]) + [IM_END]


def batchify(examples):
    L = max(len(p) + len(t) for p, t in examples)
    ids = torch.full((len(examples), L), PAD, dtype=torch.long)
    lab = torch.full((len(examples), L), -100, dtype=torch.long)
    att = torch.zeros((len(examples), L), dtype=torch.long)
    for i, (p, t) in enumerate(examples):
        s = p + t
        ids[i, :len(s)] = torch.tensor(s)
        lab[i, len(p):len(s)] = torch.tensor(t)
        att[i, :len(s)] = 1
    return ids, lab, att


# ---------------------------------------------------------------------------------------------
# evaluation

BOXED = re.compile(r"\\boxed\{([^}]*)\}")


@torch.no_grad()
def generate(model, prompt, max_new):
    """Greedy continuation with the KV cache; returns the new ids (the stop id included)."""
    out = model(input_ids=torch.tensor([prompt]), use_cache=True)
    past, new = out.past_key_values, []
    logits = out.logits[0, -1]
    for _ in range(max_new):
        t = int(logits.argmax())
        new.append(t)
        if t == IM_END:
            break
        out = model(input_ids=torch.tensor([[t]]), past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[0, -1]
    return new


def evaluate(model, r, rows):
    model.eval()
    by = {}
    for row in rows:
        if parse_find(row["problem"]):
            continue        # one guess: greedy accuracy there says nothing
        new = generate(model, r.round0(row["problem"]), 160)
        m = BOXED.findall(r.tok.decode(new, skip_special_tokens=True))
        ok = bool(m) and m[-1].strip() == row["answer"]
        d = row["difficulty"]
        by.setdefault(d, [0, 0])
        by[d][0] += ok
        by[d][1] += 1
    model.train()
    return by


def save_golden(model, r, rows, path):
    """transformers' fp32 logits on one round-0 prompt + its greedy continuation (128 ids in all)."""
    from safetensors.torch import save_file
    row = min((x for x in rows if not parse_find(x["problem"])), key=lambda x: len(r.round0(x["problem"])))
    prompt = r.round0(row["problem"])
    G = 128 - len(prompt)
    if G < 8:
        sys.exit("golden prompt too long (%d ids)" % len(prompt))
    greedy = generate(model, prompt, G)[:G]
    seq = torch.tensor([prompt + greedy])
    with torch.no_grad():
        full = model(input_ids=seq).logits[0].float().contiguous()
        # decode logits: one token at a time through the cache
        out = model(input_ids=torch.tensor([prompt]), use_cache=True)
        past, rows_ = out.past_key_values, [out.logits[0, -1]]
        for t in greedy[:-1]:
            out = model(input_ids=torch.tensor([[t]]), past_key_values=past, use_cache=True)
            past = out.past_key_values
            rows_.append(out.logits[0, -1])
        dec = torch.stack(rows_).float().contiguous()
    save_file({"prompt_ids": torch.tensor(prompt, dtype=torch.int32),
               "greedy_ids": torch.tensor(greedy, dtype=torch.int32),
               "full_logits": full, "decode_logits": dec}, path, metadata={"format": "pt"})
    print("golden: %d prompt + %d greedy ids -> %s" % (len(prompt), len(greedy), path))


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="make_task.py output directory")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--max-steps", type=int, default=8, help="longest chain at the end of the curriculum")
    ap.add_argument("--curriculum", type=float, default=0.3, help="fraction of training to reach --max-steps")
    ap.add_argument("--agg-frac", type=float, default=0.3, help="fraction of batches that are aggregation")
    ap.add_argument("--agg-start", type=float, default=0.2, help="fraction of training before aggregation")
    ap.add_argument("--agg-batch", type=int, default=8)
    ap.add_argument("--agg-cmin", type=int, default=2)
    ap.add_argument("--agg-cmax", type=int, default=4)
    ap.add_argument("--agg-good", type=float, default=-1.0,
                    help="each candidate is right with this probability (default -1: the number right is uniform in 0..C)")
    ap.add_argument("--find-frac", type=float, default=0.0,
                    help="fraction of examples (single and aggregation) from the inverse family")
    ap.add_argument("--find-check", type=float, default=0.0,
                    help="fraction of inverse single attempts that are checking examples (given guess, right half the time)")
    ap.add_argument("--tau-min", type=int, default=16)
    ap.add_argument("--tau-max", type=int, default=96)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-n", type=int, default=240)
    ap.add_argument("--golden", default="")
    ap.add_argument("--init", default="", help="continue from this train.py output (its weights and tokenizer)")
    ap.add_argument("--save-every", type=int, default=0, help="also save bf16 snapshots to OUT/step-N")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    train_rows = load_jsonl(os.path.join(a.data, "train.jsonl"))
    val_rows = load_jsonl(os.path.join(a.data, "val.jsonl"))
    if a.init:
        for f in ("tokenizer.json", "tokenizer_config.json"):
            with open(os.path.join(a.init, f), "rb") as src, open(os.path.join(a.out, f), "wb") as dst:
                dst.write(src.read())
        tok = Tokenizer.from_file(os.path.join(a.out, "tokenizer.json"))
    else:
        tok = build_tokenizer(train_rows, a.out, a.seed)
    r = Renderer(tok)
    smp = Sampler(train_rows, r, a, rng)
    row = max(train_rows[:200], key=lambda x: x["difficulty"])
    ex = r.round0(row["problem"])
    ag = r.aggregation(row["problem"], [r.enc(row["solution"])] * 3, 48)
    print("d=%d: round-0 prompt %d ids, target %d ids; aggregation prompt (C=3, tau=48) %d ids" %
          (row["difficulty"], len(ex), len(r.enc(row["solution"])) + 1, len(ag)))

    q = json.loads(read(os.path.join(ROOT, "configs", "models", "quickstart", "config.json")))
    cfg = ZayaConfig(vocab_size=q["vocab_size"], hidden_size=q["hidden_size"], num_hidden_layers=q["num_hidden_layers"],
                     num_attention_heads=q["num_attention_heads"], num_key_value_heads=q["num_key_value_heads"],
                     head_dim=q["head_dim"], num_experts=q["num_experts"], num_experts_per_tok=q["num_experts_per_tok"],
                     moe_intermediate_size=q["moe_intermediate_size"], router_hidden_size=q["router_hidden_size"],
                     cca_time0=q["cca_time0"], cca_time1=q["cca_time1"], rms_norm_eps=q["rms_norm_eps"],
                     tie_word_embeddings=True, max_position_embeddings=q["max_position_embeddings"],
                     rope_parameters={"hybrid": q["rope_parameters"]["hybrid"]},
                     pad_token_id=PAD, bos_token_id=BOS, eos_token_id=IM_END, attn_implementation="eager")
    if a.init:
        model = ZayaForCausalLM.from_pretrained(a.init, dtype=torch.float32, attn_implementation="eager")
    else:
        model = ZayaForCausalLM(cfg).to(torch.float32)
    model.train()
    nparam = sum(p.numel() for p in model.parameters())
    print("params %d (%.2f M)" % (nparam, nparam / 1e6))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.01)

    def lr_at(s):
        if s < a.warmup:
            return a.lr * (s + 1) / a.warmup
        return a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, (s - a.warmup) / max(1, a.steps - a.warmup)))))

    t0 = time.time()
    stats = {"s": [0.0, 0], "a": [0.0, 0]}
    ntok = 0
    step = -1
    for step in range(a.steps):
        frac = step / a.steps
        dmax = min(a.max_steps, 2 + int((a.max_steps - 1) * frac / a.curriculum))
        agg = frac >= a.agg_start and rng.random() < a.agg_frac
        batch = [smp.aggregation(dmax) for _ in range(a.agg_batch)] if agg else [smp.single(dmax) for _ in range(a.batch)]
        ids, lab, att = batchify(batch)
        ntok += int(att.sum())
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        out = model(input_ids=ids, attention_mask=att, labels=lab)
        opt.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        st = stats["a" if agg else "s"]
        st[0] += float(out.loss.detach())
        st[1] += 1
        if (step + 1) % a.log_every == 0:
            dt = time.time() - t0
            print("step %d dmax %d loss single %.4f agg %s lr %.2e  %.2f steps/s %.0f tok/s  %.0fs" %
                  (step + 1, dmax, stats["s"][0] / max(1, stats["s"][1]),
                   "%.4f" % (stats["a"][0] / stats["a"][1]) if stats["a"][1] else "-", lr_at(step),
                   (step + 1) / dt, ntok / dt, dt), flush=True)
            stats = {"s": [0.0, 0], "a": [0.0, 0]}
        if a.save_every and (step + 1) % a.save_every == 0 and step + 1 < a.steps:
            snap = os.path.join(a.out, "step-%d" % (step + 1))
            # the tied head is the embedding: leave it out, as save_pretrained does for the final model
            sd = {k: v.detach().to(torch.bfloat16) for k, v in model.state_dict().items()
                  if not (k == "lm_head.weight" and model.config.tie_word_embeddings)}
            model.save_pretrained(snap, state_dict=sd, safe_serialization=True)
            for f in ("tokenizer.json", "tokenizer_config.json"):
                with open(os.path.join(a.out, f), "rb") as src, open(os.path.join(snap, f), "wb") as dst:
                    dst.write(src.read())
    model.eval()
    # ship bf16 weights; everything below (evaluation, golden logits) uses exactly those weights
    model = model.to(torch.bfloat16)
    model.generation_config.do_sample = True
    model.generation_config.temperature = 1.0
    model.save_pretrained(a.out, safe_serialization=True)
    # evaluate what was saved, loaded as a user loads it: casting the live model back to fp32 would
    # keep buffers (the rotary frequencies) rounded to bf16, which the saved checkpoint does not have
    model = ZayaForCausalLM.from_pretrained(a.out, dtype=torch.float32, attn_implementation="eager").eval()
    print("saved to %s after %d steps, %.0fs" % (a.out, a.steps, time.time() - t0), flush=True)
    if a.golden:
        save_golden(model, r, val_rows, a.golden)
    t1 = time.time()
    by = evaluate(model, r, val_rows[:a.eval_n])
    for d in sorted(by):
        print("greedy d=%d: %d/%d = %.2f" % (d, by[d][0], by[d][1], by[d][0] / by[d][1]))
    print("greedy eval %.0fs" % (time.time() - t1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
