#!/usr/bin/env python3
"""hf_decode.py: the reference side of the engine benchmark.

Runs Hugging Face transformers' ZAYA model (eager attention, CPU) on a checkpoint directory with
the same workload as `rsa bench engine`: prefill one prompt of P random ids (B copies of it for batch B), then decode
G steps for the B sequences, feeding seeded random ids; one untimed warm-up step first. Prints one JSON line.

Needs the reference venv (tests/reference/zaya/requirements.txt); see bench/engine_vs_hf.sh.
"""
import argparse
import json
import time

import torch
from transformers import DynamicCache
from transformers.models.zaya import ZayaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen-len", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    model = ZayaForCausalLM.from_pretrained(a.model, dtype=dtype, attn_implementation="eager")
    model.eval()
    V = model.config.vocab_size
    g = torch.Generator().manual_seed(12345)
    prompt = torch.randint(0, V, (1, a.prompt_len), generator=g)
    with torch.no_grad():
        t0 = time.perf_counter()
        cache = DynamicCache(config=model.config)
        # the same prompt for every sequence (the engine forks one prefill; HF's cache cannot be
        # replicated for ZAYA's conv state, so HF prefills the batch: only decode is compared there)
        model(input_ids=prompt.repeat(a.batch, 1), past_key_values=cache, use_cache=True, logits_to_keep=1)
        prefill_s = time.perf_counter() - t0
        toks = torch.randint(0, V, (a.batch, 1), generator=g)
        model(input_ids=toks, past_key_values=cache, use_cache=True)  # warm-up step, not timed
        t0 = time.perf_counter()
        for _ in range(a.gen_len - 1):
            toks = torch.randint(0, V, (a.batch, 1), generator=g)
            model(input_ids=toks, past_key_values=cache, use_cache=True)
        decode_s = time.perf_counter() - t0
    steps = max(a.gen_len - 1, 1)
    print(json.dumps({
        "impl": "transformers-eager", "dtype": a.dtype, "threads": a.threads, "batch": a.batch,
        "prompt_len": a.prompt_len, "gen_len": a.gen_len,
        "prefill_tok_s": a.batch * a.prompt_len / prefill_s,
        "decode_tok_s": a.batch * steps / decode_s,
        "step_ms": 1000.0 * decode_s / steps,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
