#!/usr/bin/env python3
"""Golden fixtures for the C ZAYA1 engine, made by running upstream HF transformers' ZAYA model.

Each fixture is a small random ZayaForCausalLM (every parameter and persistent buffer randomised),
saved as a checkpoint (native save_pretrained layout, sharded, or the legacy 80-style layout), with
golden values computed in float32 with eager attention:

  <name>/config.json          native (save_pretrained) or legacy-layout config
  <name>/model*.safetensors   weights (+ model.safetensors.index.json when sharded)
  <name>/golden.safetensors   prompt_ids, greedy_ids, full_logits, decode_logits, hidden_states,
                              layer_out_last, router_idx, router_skip, router_w
  <name>/meta.json            script/version/library versions/seed/self-checks

Usage (from the repository root, in the venv of tests/reference/zaya/README.md):
  python3 tests/reference/zaya/make_fixtures.py               # (re)write tests/fixtures/zaya/*
  python3 tests/reference/zaya/make_fixtures.py --out DIR     # write elsewhere
  python3 tests/reference/zaya/make_fixtures.py --check       # regenerate into a temp dir, compare
  python3 tests/reference/zaya/make_fixtures.py --only skip-bf16

See README.md beside this file for what each tensor means.
"""

import argparse
import copy
import json
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import safetensors
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import DynamicCache
from transformers.models.zaya import ZayaConfig, ZayaForCausalLM

SCRIPT_VERSION = 1
SCRIPT_REL = "tests/reference/zaya/make_fixtures.py"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "zaya"

G = 32                      # greedy tokens per fixture
MARGIN_MIN = 1e-3           # min (top1-top2)/max|logit| over all greedy steps
ROUTER_MARGIN_MIN = 1e-4    # min gap between the best and second-best biased router score
SELF_TOL = 1e-4             # HF cached/chunked vs full: max abs diff <= SELF_TOL * max|logit|
MIN_DISTINCT = 10           # min distinct tokens among the G greedy ones (no degenerate repetition)
MAX_ATTEMPTS = 200          # prompts tried per fixture
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def hybrid_rope(theta, partial):
    return {"rope_type": "default", "rope_theta": float(theta), "partial_rotary_factor": float(partial)}


# Every fixture. "cfg" goes to ZayaConfig as is; the rest steers this script.
FIXTURES = [
    {
        "name": "native-bf16",
        "seed": 1001,
        "dtype": "bf16",
        "layout": "native",
        "prompt_len": 12,
        "bb_fp32": True,  # balancing_biases stored as F32 in an otherwise BF16 file
        "description": "ZAYA1-8B structure in miniature: 3 layers, 4 q / 2 kv heads (GQA 2), head_dim 16, "
        "partial rotary 0.5, theta 5e6, 4 experts (+skip), cca 2/2, tied head; BF16 weights with "
        "balancing_biases kept F32 (mixed-dtype file).",
        "cfg": dict(vocab_size=512, hidden_size=128, num_hidden_layers=3, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16, num_experts=4, moe_intermediate_size=64,
                    router_hidden_size=32, cca_time0=2, cca_time1=2,
                    rope_parameters={"hybrid": hybrid_rope(5e6, 0.5)}),
    },
    {
        "name": "native-fp32-bias",
        "seed": 2002,
        "dtype": "fp32",
        "layout": "native",
        "prompt_len": 9,
        "description": "F32 weights; attention_bias (q/k/v_current/v_delayed/o biases, so the delayed value "
        "at t=0 is v_proj_delayed.bias), lm_head_bias, untied lm_head; 6 q / 3 kv heads, head_dim 32, "
        "partial rotary 0.25, theta 1e4, 3 experts, cca_time0 3 / cca_time1 2 (conv state 3).",
        "cfg": dict(vocab_size=300, hidden_size=96, num_hidden_layers=2, num_attention_heads=6,
                    num_key_value_heads=3, head_dim=32, num_experts=3, moe_intermediate_size=48,
                    router_hidden_size=24, cca_time0=3, cca_time1=2, attention_bias=True,
                    lm_head_bias=True, tie_word_embeddings=False,
                    rope_parameters={"hybrid": hybrid_rope(1e4, 0.25)}),
    },
    {
        "name": "native-fp16",
        "seed": 3003,
        "dtype": "fp16",
        "layout": "native",
        "prompt_len": 7,
        "description": "F16 weights; 4 layers, 2 q / 1 kv head (GQA 2), head_dim 32, full rotary (1.0), "
        "theta 1e6, 8 experts, cca_time0 2 / cca_time1 3 (conv state 3), vocab 1000.",
        "cfg": dict(vocab_size=1000, hidden_size=64, num_hidden_layers=4, num_attention_heads=2,
                    num_key_value_heads=1, head_dim=32, num_experts=8, moe_intermediate_size=32,
                    router_hidden_size=16, cca_time0=2, cca_time1=3,
                    rope_parameters={"hybrid": hybrid_rope(1e6, 1.0)}),
    },
    {
        "name": "legacy-bf16",
        "seed": 4004,
        "dtype": "bf16",
        "layout": "legacy",
        "prompt_len": 10,
        "description": "Geometry of native-bf16 (another seed) written in the legacy Megatron layout: "
        "6 alternating layers (even = CCA attention, odd = MoE), legacy tensor names and res_scale "
        "placement (zaya1-model.md 3.2/3.3), legacy config keys. Goldens from the native model.",
        "cfg": dict(vocab_size=512, hidden_size=128, num_hidden_layers=3, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16, num_experts=4, moe_intermediate_size=64,
                    router_hidden_size=32, cca_time0=2, cca_time1=2,
                    rope_parameters={"hybrid": hybrid_rope(5e6, 0.5)}),
    },
    {
        "name": "sliding-sharded-bf16",
        "seed": 5005,
        "dtype": "bf16",
        "layout": "native",
        "prompt_len": 16,
        "max_shard_size": "100KB",
        "description": "layer_types [hybrid, hybrid_sliding, hybrid], sliding_window 6 (a token sees itself "
        "and the 5 before it), hybrid rope theta 5e6 partial 0.5, hybrid_sliding rope theta 1e4 partial "
        "0.25; 4 q / 1 kv head (GQA 4), head_dim 16; BF16 weights saved in 3+ shards with an index.",
        "cfg": dict(vocab_size=256, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                    num_key_value_heads=1, head_dim=16, num_experts=4, moe_intermediate_size=32,
                    router_hidden_size=16, cca_time0=2, cca_time1=2,
                    layer_types=["hybrid", "hybrid_sliding", "hybrid"], sliding_window=6,
                    rope_parameters={"hybrid": hybrid_rope(5e6, 0.5),
                                     "hybrid_sliding": hybrid_rope(1e4, 0.25)}),
    },
    {
        "name": "skip-bf16",
        "seed": 6006,
        "dtype": "bf16",
        "layout": "native",
        "prompt_len": 14,
        "target_skip": 0.4,
        "description": "Like native-bf16 but 2 layers, vocab 256, and balancing_biases calibrated (skip "
        "entry raised) so the skip class wins for about 40% of the prompt tokens in each layer: "
        "skipped tokens get a zero MoE output (router_idx 0, router_w 0, router_skip 1).",
        "cfg": dict(vocab_size=256, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16, num_experts=4, moe_intermediate_size=64,
                    router_hidden_size=32, cca_time0=2, cca_time1=2,
                    rope_parameters={"hybrid": hybrid_rope(5e6, 0.5)}),
    },
]


def die(msg):
    print(f"make_fixtures: error: {msg}", file=sys.stderr)
    sys.exit(1)


# ----------------------------------------------------------------------------------------------
# Model construction and randomisation


def build_model(fx):
    cfg = ZayaConfig(**fx["cfg"], attn_implementation="eager")
    model = ZayaForCausalLM(cfg).to(torch.float32).eval()
    if cfg.tie_word_embeddings and model.lm_head.weight is not model.model.embed_tokens.weight:
        die(f"{fx['name']}: lm_head is not tied to embed_tokens")
    return model


def randomise(model, seed):
    """Overwrite every parameter and persistent buffer with seeded random values (fp32).

    Scales (norm weights, hidden-state scales, EDA scale) 1+0.1*N, input scale 1+0.2*N; temp U(1,3);
    biases small and nonzero; linear weights N(0, 1/fan_in) (head std 3/sqrt(H), so logits are
    O(1..10)); balancing_biases 0.05*N with the skip entry -1.

    With a tied head and unit residual scales a random model just repeats one token (the input
    embedding dominates the residual stream and hence the logits). So residual_scale is
    0.7*(1+0.1*N) (the real checkpoint's are reported to be mostly < 1), and o_proj / expert
    down_proj get gains 3 / 4.5: the sublayers dominate and the greedy text varies."""
    cfg = model.config
    # numpy's PCG64 + ziggurat: the same values on every CPU (torch's CPU normal_ has ISA-specific paths)
    rng = np.random.default_rng(seed)
    H = cfg.hidden_size

    def normal(shape, std):
        return torch.from_numpy((rng.standard_normal(shape) * std).astype(np.float32))

    emb_std = 3.0 / math.sqrt(H) if cfg.tie_word_embeddings else 1.0
    done = set()
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        if name == "model.embed_tokens.weight":
            v = normal(shape, emb_std)
        elif name == "lm_head.weight":
            v = normal(shape, 3.0 / math.sqrt(H))
        elif name == "model.input_hidden_states_scale":
            v = 1.0 + normal(shape, 0.2)
        elif name.endswith("residual_scale"):
            v = 0.7 * (1.0 + normal(shape, 0.1))
        elif re.search(r"(hidden_states_scale|router_states_scale|norm\.weight|layernorm\.weight)$", name):
            v = 1.0 + normal(shape, 0.1)
        elif re.search(r"(hidden_states_bias|residual_bias)$", name):
            v = normal(shape, 0.05)
        elif name.endswith("qk_norm.temp"):
            v = torch.from_numpy((1.0 + 2.0 * rng.random(shape)).astype(np.float32))
        elif name.endswith("conv_qk_depthwise.weight"):
            v = normal(shape, 1.0 / math.sqrt(shape[-1]))
        elif name.endswith("conv_qk_grouped.weight"):
            v = normal(shape, 1.0 / math.sqrt(shape[1] * shape[2]))
        elif name.endswith(("conv_qk_depthwise.bias", "conv_qk_grouped.bias")):
            v = normal(shape, 0.1)
        elif name.endswith("experts.gate_up_proj"):
            v = normal(shape, 1.0 / math.sqrt(shape[2]))
        elif name.endswith("experts.down_proj"):
            v = normal(shape, 4.5 / math.sqrt(shape[2]))
        elif name.endswith("o_proj.weight"):
            v = normal(shape, 3.0 / math.sqrt(shape[1]))
        elif name.endswith("router_mlp.out_proj.weight"):
            v = normal(shape, 2.0 / math.sqrt(shape[1]))
        elif name.endswith(".weight") and len(shape) == 2:   # every other nn.Linear
            v = normal(shape, 1.0 / math.sqrt(shape[1]))
        elif name.endswith(".bias") and len(shape) == 1:     # linear biases (router, attention, lm_head)
            v = normal(shape, 0.05)
        else:
            die(f"randomise: no rule for parameter {name} {shape}")
        with torch.no_grad():
            p.copy_(v)
        done.add(name)
    for name, b in model.named_buffers():
        if "rotary_emb" in name:  # derived from the config, not stored in the checkpoint
            continue
        if name.endswith("balancing_biases"):
            v = normal(tuple(b.shape), 0.05)
            v[-1] = -1.0
        else:
            die(f"randomise: no rule for buffer {name}")
        with torch.no_grad():
            b.copy_(v)
        done.add(name)
    missing = [k for k in model.state_dict() if k not in done and not (
        k == "lm_head.weight" and cfg.tie_word_embeddings)]
    if missing:
        die(f"randomise: not randomised: {missing}")


def round_to(model, dtype, keep_bb_fp32):
    """Round every parameter (and balancing_biases unless kept F32) to dtype and back to fp32, so the
    fp32 reference run uses exactly the values stored in the file."""
    if dtype == torch.float32:
        return
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(p.to(dtype).to(torch.float32))
        if not keep_bb_fp32:
            for name, b in model.named_buffers():
                if name.endswith("balancing_biases"):
                    b.copy_(b.to(dtype).to(torch.float32))


def gates(model):
    return [layer.mlp.gate for layer in model.model.layers]


# ----------------------------------------------------------------------------------------------
# Reference computations


class RouterCapture:
    """Forward hooks on every layer's mlp.gate (ZayaRouter): records per layer the router logits,
    the (skip-masked) weights and indices HF returned."""

    def __init__(self, model):
        self.model = model
        self.records = []
        self.handles = []

    def __enter__(self):
        self.records = [None] * len(self.model.model.layers)
        for i, g in enumerate(gates(self.model)):
            def hook(mod, args, out, i=i):
                logits, probs, idx, _ = out
                self.records[i] = (logits.detach().clone(), probs.detach().clone(), idx.detach().clone())
            self.handles.append(g.register_forward_hook(hook))
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles = []

    def decode(self):
        """Per layer: (idx [T] after skip->0, skip [T], w [T], margin [T], probs [T,C], biased [T,C])."""
        out = []
        E = self.model.config.num_experts
        for i, (logits, probs, idx) in enumerate(self.records):
            bb = gates(self.model)[i].balancing_biases.to(torch.float32)
            p = torch.softmax(logits, dim=-1).to(torch.float32)
            biased = p + bb
            choice = biased.argmax(dim=-1)
            skip = choice == E
            hf_idx = idx[:, 0]
            hf_w = probs[:, 0]
            if not torch.equal(hf_idx, torch.where(skip, torch.zeros_like(choice), choice)):
                die(f"router layer {i}: recomputed choice disagrees with HF's indices")
            if bool((hf_w[skip] != 0).any()):
                die(f"router layer {i}: skip tokens with a nonzero weight")
            top2 = biased.topk(2, dim=-1).values
            out.append((hf_idx, skip, hf_w, top2[:, 0] - top2[:, 1], p, biased))
        return out


def fwd(model, ids, **kw):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids], dtype=torch.long), **kw)


def greedy_cached(model, prompt):
    """HF greedy decoding with a DynamicCache, one token per step. Returns (ids [G], logits [G,V])."""
    cache = DynamicCache(config=model.config)
    out = fwd(model, prompt, past_key_values=cache, use_cache=True)
    rows, ids = [], []
    row = out.logits[0, -1].clone()
    for i in range(G):
        rows.append(row)
        tok = int(row.argmax())
        ids.append(tok)
        if i + 1 < G:
            out = fwd(model, [tok], past_key_values=out.past_key_values, use_cache=True)
            row = out.logits[0, -1].clone()
    return ids, torch.stack(rows)


def hf_generate(model, prompt):
    """model.generate (greedy, use_cache) as a cross-check of greedy_cached."""
    with torch.no_grad():
        g = model.generate(torch.tensor([prompt]), max_new_tokens=G, do_sample=False, use_cache=True,
                           output_logits=True, return_dict_in_generate=True, eos_token_id=None,
                           pad_token_id=model.config.pad_token_id)
    new = g.sequences[0, len(prompt):].tolist()
    return new, torch.stack([x[0] for x in g.logits])


def chunked_prefill(model, prompt):
    """Prefill the prompt in 2 chunks via past_key_values; logits [P, V]."""
    k = len(prompt) // 2
    cache = DynamicCache(config=model.config)
    o1 = fwd(model, prompt[:k], past_key_values=cache, use_cache=True)
    o2 = fwd(model, prompt[k:], past_key_values=o1.past_key_values, use_cache=True)
    return torch.cat([o1.logits[0], o2.logits[0]], dim=0)


def rel_margins(rows):
    top2 = rows.topk(2, dim=-1).values
    return (top2[:, 0] - top2[:, 1]) / rows.abs().amax(dim=-1)


def calibrate_skip(model, prompt, frac, dtype, keep_bb_fp32):
    """Raise each layer's skip balancing bias, layer by layer, so that skip wins for about `frac` of
    the prompt tokens, placing the threshold in the widest gap between neighbouring tokens."""
    E = model.config.num_experts
    P = len(prompt)
    for g in gates(model):
        with torch.no_grad():
            g.balancing_biases[-1] = -10.0
    for li, g in enumerate(gates(model)):
        with RouterCapture(model) as rc:
            fwd(model, prompt, use_cache=False)
        _, _, _, _, p, biased = rc.decode()[li]
        gap = (biased[:, :E].amax(dim=-1) - p[:, E]).sort().values  # skip wins iff bias_skip > gap
        lo, hi = max(1, math.ceil(0.75 * frac * P)), min(P - 1, math.floor(1.25 * frac * P))
        best = max(range(lo, hi + 1), key=lambda k: float(gap[k] - gap[k - 1]))
        b = 0.5 * float(gap[best - 1] + gap[best])
        with torch.no_grad():
            g.balancing_biases[-1] = b
            if dtype != torch.float32 and not keep_bb_fp32:
                g.balancing_biases.copy_(g.balancing_biases.to(dtype).to(torch.float32))


def reference(fx, model, attempt_seed):
    """Pick a prompt with healthy margins and compute all goldens. Returns (golden dict, meta extras)
    or raises Retry."""
    cfg = model.config
    V = cfg.vocab_size
    P = fx["prompt_len"]
    rng = np.random.default_rng(attempt_seed)
    prompt = [cfg.bos_token_id] + [int(i) for i in rng.integers(3, V, size=P - 1)]
    if fx.get("target_skip"):
        calibrate_skip(model, prompt, fx["target_skip"], DTYPES[fx["dtype"]], fx.get("bb_fp32", False))

    greedy, dec_logits = greedy_cached(model, prompt)
    seq = prompt + greedy
    with RouterCapture(model) as rc:
        full = fwd(model, seq, use_cache=False).logits[0]
    routers_full = rc.decode()
    max_logit = float(full.abs().max())

    # margins: greedy choice stable under small numeric differences, router choice too
    margin = min(float(rel_margins(dec_logits).min()), float(rel_margins(full[P - 1:P - 1 + G]).min()))
    router_margin = min(float(r[3].min()) for r in routers_full)
    if margin < MARGIN_MIN or router_margin < ROUTER_MARGIN_MIN:
        raise Retry(f"margin {margin:.2e}, router margin {router_margin:.2e}")
    if len(set(greedy)) < MIN_DISTINCT:
        raise Retry(f"only {len(set(greedy))} distinct greedy tokens")
    if full[P - 1:P - 1 + G].argmax(dim=-1).tolist() != greedy:
        raise Retry("full-forward argmax differs from the cached greedy tokens")

    cached_vs_full = float((dec_logits - full[P - 1:P - 1 + G]).abs().max())
    chunked = chunked_prefill(model, prompt)
    chunked_diff = float((chunked - full[:P]).abs().max())
    gen_ids, gen_logits = hf_generate(model, prompt)
    generate_agrees = gen_ids == greedy and float((gen_logits - dec_logits).abs().max()) <= SELF_TOL * max_logit

    # prompt-only forward: hidden states and router choices
    last_out = {}
    h = model.model.layers[-1].register_forward_hook(
        lambda m, a, o: last_out.__setitem__("x", (o[0] if isinstance(o, tuple) else o).detach().clone()))
    try:
        with RouterCapture(model) as rc:
            po = fwd(model, prompt, use_cache=False, output_hidden_states=True)
    finally:
        h.remove()
    routers = rc.decode()
    hs = torch.stack([t[0] for t in po.hidden_states]).to(torch.float32)
    if hs.shape != (cfg.num_hidden_layers + 1, P, cfg.hidden_size):
        die(f"{fx['name']}: unexpected hidden_states shape {tuple(hs.shape)}")
    prompt_vs_full = float((po.logits[0] - full[:P]).abs().max())

    golden = {
        "prompt_ids": torch.tensor(prompt, dtype=torch.int32),
        "greedy_ids": torch.tensor(greedy, dtype=torch.int32),
        "full_logits": full.to(torch.float32).contiguous(),
        "decode_logits": dec_logits.to(torch.float32).contiguous(),
        "hidden_states": hs.contiguous(),
        "layer_out_last": last_out["x"][0].to(torch.float32).contiguous(),
        "router_idx": torch.stack([r[0] for r in routers]).to(torch.int32).contiguous(),
        "router_skip": torch.stack([r[1] for r in routers]).to(torch.int32).contiguous(),
        "router_w": torch.stack([r[2] for r in routers]).to(torch.float32).contiguous(),
    }
    skip_frac = float(golden["router_skip"].float().mean())
    extras = {
        "prompt_len": P,
        "greedy_len": G,
        "hf_cached_vs_full_max_abs": cached_vs_full,
        "hf_chunked_prefill_max_abs": chunked_diff,
        "chunked_prefill_split": P // 2,
        "hf_prompt_vs_full_max_abs": prompt_vs_full,
        "hf_generate_agrees": bool(generate_agrees),
        "min_greedy_margin_rel": margin,
        "greedy_distinct_tokens": len(set(greedy)),
        "min_router_margin": router_margin,
        "max_abs_logit": max_logit,
        "router_skip_fraction_prompt": skip_frac,
        "router_skip_fraction_per_layer": [float(r[1].float().mean()) for r in routers],
        "router_skip_fraction_full": float(torch.stack([r[1] for r in routers_full]).float().mean()),
        "balancing_biases_skip": [float(g.balancing_biases[-1]) for g in gates(model)],
    }
    return golden, extras


class Retry(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Checkpoint writing


def native_to_legacy(sd, cfg):
    """Rename a native state dict (fp32, tied head dropped) into the legacy 2L-layer layout
    (zaya1-model.md 3.2/3.3). Returns a new dict; every native key is used exactly once."""
    L = cfg.num_hidden_layers
    out, used = {}, set()

    def put(nk, lk, t=None):
        if lk in out:
            die(f"legacy: duplicate target {lk}")
        out[lk] = sd[nk] if t is None else t
        used.add(nk)

    put("model.embed_tokens.weight", "model.embed_tokens.weight")
    put("model.input_hidden_states_scale", "model.layers.0.res_scale.hidden_states_scale")
    put("model.input_hidden_states_bias", "model.layers.0.res_scale.hidden_states_bias")
    put("model.norm.weight", "model.final_norm.weight")
    if "lm_head.weight" in sd:
        put("lm_head.weight", "lm_head.weight")
    if "lm_head.bias" in sd:
        put("lm_head.bias", "lm_head.bias")
    attn_map = [("self_attn.qkv_proj.q_proj.", "self_attn.qkv.linear_q."),
                ("self_attn.qkv_proj.k_proj.", "self_attn.qkv.linear_k."),
                ("self_attn.qkv_proj.v_proj_current.", "self_attn.qkv.val_proj1."),
                ("self_attn.qkv_proj.v_proj_delayed.", "self_attn.qkv.val_proj2."),
                ("self_attn.qkv_proj.conv_qk_depthwise.", "self_attn.qkv.conv_qk.0."),
                ("self_attn.qkv_proj.conv_qk_grouped.", "self_attn.qkv.conv_qk.1."),
                ("self_attn.qk_norm.temp", "self_attn.qkv.temp"),
                ("self_attn.o_proj.", "self_attn.o_proj."),
                ("input_layernorm.", "input_norm.")]
    moe_map = [("post_attention_layernorm.", "input_norm."),
               ("post_attention_residual_scale.", "res_scale."),
               ("mlp.gate.down_proj.", "zaya_block.router.down_proj."),
               ("mlp.gate.router_states_scale", "zaya_block.router.router_states_scale"),
               ("mlp.gate.router_mlp.norm.", "zaya_block.router.rmsnorm_eda."),
               ("mlp.gate.router_mlp.fc1.", "zaya_block.router.router_mlp.0."),
               ("mlp.gate.router_mlp.fc2.", "zaya_block.router.router_mlp.2."),
               ("mlp.gate.router_mlp.out_proj.", "zaya_block.router.router_mlp.4."),
               ("mlp.gate.balancing_biases", "zaya_block.router.balancing_biases")]
    for li in range(L):
        pre = f"model.layers.{li}."
        for nk in [k for k in sd if k.startswith(pre)]:
            rest = nk[len(pre):]
            for src, dst, n in [(a, b, 2 * li) for a, b in attn_map] + [(a, b, 2 * li + 1) for a, b in moe_map]:
                if rest.startswith(src):
                    put(nk, f"model.layers.{n}.{dst}{rest[len(src):]}")
                    break
            else:
                if rest.startswith("post_mlp_residual_scale."):
                    field = rest[len("post_mlp_residual_scale."):]
                    target = f"model.layers.{2 * li + 2}.res_scale.{field}" if li + 1 < L else f"model.res_scale.{field}"
                    put(nk, target)
                elif rest in ("mlp.experts.gate_up_proj", "mlp.experts.down_proj"):
                    fc = "linear_fc1" if rest.endswith("gate_up_proj") else "linear_fc2"
                    for e in range(sd[nk].shape[0]):
                        out[f"model.layers.{2 * li + 1}.zaya_block.experts.local_experts.{e}.{fc}.weight"] = \
                            sd[nk][e].clone()
                    used.add(nk)
                else:
                    die(f"legacy: no rule for {nk}")
    left = set(sd) - used
    if left:
        die(f"legacy: unmapped native keys {sorted(left)}")
    return out


def legacy_to_native(lsd, cfg):
    """Inverse of native_to_legacy, written independently from the spec's 3.3 table (used only to
    check that the legacy file holds the same model)."""
    L = cfg.num_hidden_layers
    E = cfg.num_experts
    sd = {}
    experts = {}
    for k, t in lsd.items():
        m = re.match(r"model\.layers\.(\d+)\.(.*)$", k)
        if k == "model.final_norm.weight":
            sd["model.norm.weight"] = t
        elif k.startswith("model.res_scale."):
            sd[f"model.layers.{L - 1}.post_mlp_residual_scale.{k[len('model.res_scale.'):]}"] = t
        elif m is None:
            sd[k] = t
        else:
            n, rest = int(m.group(1)), m.group(2)
            li = n // 2
            if n % 2 == 0:
                if rest.startswith("res_scale."):
                    field = rest[len("res_scale."):]
                    sd[f"model.input_{field}" if n == 0 else f"model.layers.{li - 1}.post_mlp_residual_scale.{field}"] = t
                    continue
                rest = (rest.replace("input_norm.", "input_layernorm.")
                        .replace("self_attn.qkv.temp", "self_attn.qk_norm.temp")
                        .replace("self_attn.qkv.linear_q.", "self_attn.qkv_proj.q_proj.")
                        .replace("self_attn.qkv.linear_k.", "self_attn.qkv_proj.k_proj.")
                        .replace("self_attn.qkv.val_proj1.", "self_attn.qkv_proj.v_proj_current.")
                        .replace("self_attn.qkv.val_proj2.", "self_attn.qkv_proj.v_proj_delayed.")
                        .replace("self_attn.qkv.conv_qk.0.", "self_attn.qkv_proj.conv_qk_depthwise.")
                        .replace("self_attn.qkv.conv_qk.1.", "self_attn.qkv_proj.conv_qk_grouped."))
                sd[f"model.layers.{li}.{rest}"] = t
            else:
                me = re.match(r"zaya_block\.experts\.local_experts\.(\d+)\.linear_fc([12])\.weight$", rest)
                if me:
                    experts[(li, int(me.group(2)), int(me.group(1)))] = t
                    continue
                rest = (rest.replace("input_norm.", "post_attention_layernorm.")
                        .replace("res_scale.", "post_attention_residual_scale.")
                        .replace("zaya_block.router.rmsnorm_eda.", "mlp.gate.router_mlp.norm.")
                        .replace("zaya_block.router.router_mlp.0.", "mlp.gate.router_mlp.fc1.")
                        .replace("zaya_block.router.router_mlp.2.", "mlp.gate.router_mlp.fc2.")
                        .replace("zaya_block.router.router_mlp.4.", "mlp.gate.router_mlp.out_proj.")
                        .replace("zaya_block.router.", "mlp.gate."))
                sd[f"model.layers.{li}.{rest}"] = t
    for li in range(L):
        sd[f"model.layers.{li}.mlp.experts.gate_up_proj"] = torch.stack([experts[(li, 1, e)] for e in range(E)])
        sd[f"model.layers.{li}.mlp.experts.down_proj"] = torch.stack([experts[(li, 2, e)] for e in range(E)])
    return sd


def legacy_config(cfg, dtype_name):
    """A legacy (Megatron-style) config.json for a native ZayaConfig (key names as in SGLang's
    ZayaConfig and zaya1-model.md 1.1/1.2). Deliberately no head_dim / num_key_value_heads /
    layer_types / moe_intermediate_size: readers must use kv_channels / num_query_groups /
    ffn_hidden_size."""
    rope = cfg.rope_parameters["hybrid"]
    return {
        "architectures": ["ZayaForCausalLM"],
        "model_type": "zaya",
        "activation_func": "swiglu",
        "add_bias_linear": False,
        "attention_bias": cfg.attention_bias,
        "attention_dropout": 0.0,
        "bos_token_id": cfg.bos_token_id,
        "cca": True,
        "cca_time0": cfg.cca_time0,
        "cca_time1": cfg.cca_time1,
        "clamp_temp": False,
        "eos_token_id": cfg.eos_token_id,
        "ffn_hidden_size": 2 * cfg.moe_intermediate_size,
        "gated_linear_unit": True,
        "hidden_size": cfg.hidden_size,
        "kv_channels": cfg.head_dim,
        "lm_head_bias": cfg.lm_head_bias,
        "mamba_cache_dtype": "float32",
        "max_position_embeddings": cfg.max_position_embeddings,
        "moe_router_topk": 1,
        "norm_epsilon": cfg.rms_norm_eps,
        "num_attention_heads": cfg.num_attention_heads,
        "num_experts": cfg.num_experts,
        "num_hidden_layers": 2 * cfg.num_hidden_layers,
        "num_query_groups": cfg.num_key_value_heads,
        "pad_token_id": cfg.pad_token_id,
        "partial_rotary_factor": rope["partial_rotary_factor"],
        "residual_in_fp32": True,
        "rope_scaling": False,
        "rope_theta": rope["rope_theta"],
        "scale_residual_merge": True,
        "sliding_window": None,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "torch_dtype": {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[dtype_name],
        "vocab_size": cfg.vocab_size,
        "zaya_high_prec": True,
        "zaya_mlp_expansion": cfg.router_hidden_size,
        "zaya_use_eda": True,
        "zaya_use_mod": True,
    }


def native_state_dict(model):
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    return sd


def full_logits_of(model, seq):
    return fwd(model, seq, use_cache=False).logits[0]


def write_checkpoint(fx, model, d, seq, ref_full):
    """Write config + weights into d, then reload them and check that they give ref_full exactly.
    Returns the state-dict keys whose stored values HF's from_pretrained overrode."""
    overrides = []
    dtype = DTYPES[fx["dtype"]]
    cfg = model.config
    if fx["layout"] == "legacy":
        lsd = native_to_legacy(native_state_dict(model), cfg)
        lsd_t = {k: v.to(dtype).contiguous() for k, v in lsd.items()}
        save_file(lsd_t, str(d / "model.safetensors"), metadata={"format": "pt"})
        with open(d / "config.json", "w") as f:
            json.dump(legacy_config(cfg, fx["dtype"]), f, indent=2, sort_keys=True)
            f.write("\n")
        # check: read the file back, map to native, load strictly into a fresh model
        back = {}
        with safe_open(str(d / "model.safetensors"), framework="pt") as f:
            for k in f.keys():
                back[k] = f.get_tensor(k).to(torch.float32)
        nsd = legacy_to_native(back, cfg)
        fresh = build_model(fx)
        missing, unexpected = fresh.load_state_dict(nsd, strict=False)
        missing = [k for k in missing if not (k == "lm_head.weight" and cfg.tie_word_embeddings)]
        if missing or unexpected:
            die(f"{fx['name']}: legacy round trip: missing {missing} unexpected {unexpected}")
        got = full_logits_of(fresh, seq)
    else:
        saved = copy.deepcopy(model).to(dtype)
        if fx.get("bb_fp32"):
            for g, g_ref in zip(gates(saved), gates(model)):
                g.balancing_biases = g_ref.balancing_biases.detach().clone().to(torch.float32)
        kw = {"max_shard_size": fx["max_shard_size"]} if fx.get("max_shard_size") else {}
        saved.save_pretrained(str(d), safe_serialization=True, **kw)
        # the file must hold exactly the tensors of the reference model (no lm_head when tied)
        stored = {}
        ref_sd = model.state_dict()
        for fn in sorted(d.glob("*.safetensors")):
            with safe_open(str(fn), framework="pt") as f:
                for k in f.keys():
                    if k in stored:
                        die(f"{fx['name']}: {k} stored twice")
                    t = f.get_tensor(k)
                    stored[k] = t
                    exp_dtype = torch.float32 if (fx.get("bb_fp32") and k.endswith("balancing_biases")) else dtype
                    if t.dtype != exp_dtype or not torch.equal(t.to(torch.float32), ref_sd[k]):
                        die(f"{fx['name']}: stored {k} ({t.dtype}) differs from the reference model")
        expect = set(native_state_dict(model))
        if set(stored) != expect:
            die(f"{fx['name']}: stored keys differ: extra {sorted(set(stored) - expect)} "
                f"missing {sorted(expect - set(stored))}")
        loaded = ZayaForCausalLM.from_pretrained(str(d), dtype=torch.float32, attn_implementation="eager").eval()
        # F32 tensors come back memory-mapped at unaligned offsets, which changes CPU kernels' summation
        # order; copy them to fresh (aligned) memory so the comparison below can be exact
        with torch.no_grad():
            for p in loaded.parameters():
                p.data = p.data.clone()
            for b in loaded.buffers():
                b.data = b.data.clone()
        # transformers 5.23.0: ZayaPreTrainedModel._init_weights does `balancing_biases[-1] = -1.0`
        # outside the _is_hf_initialized guard, so from_pretrained replaces the stored skip bias by -1.
        # Record that and restore the stored values (the C engine must use the file's values).
        for k, v in loaded.state_dict().items():
            if k in stored and not torch.equal(v, stored[k].to(torch.float32)):
                if not k.endswith("balancing_biases"):
                    die(f"{fx['name']}: from_pretrained changed {k}")
                overrides.append(k)
                with torch.no_grad():
                    v.copy_(stored[k].to(torch.float32))
        got = full_logits_of(loaded, seq)
        if fx.get("max_shard_size"):
            shards = sorted(p.name for p in d.glob("model-*-of-*.safetensors"))
            if len(shards) < 3 or not (d / "model.safetensors.index.json").exists():
                die(f"{fx['name']}: expected 3+ shards with an index, got {shards}")
    if not torch.equal(got, ref_full):
        die(f"{fx['name']}: logits from the saved checkpoint differ from the reference model "
            f"(max {float((got - ref_full).abs().max()):.3e})")
    return overrides


def weight_files(d):
    return sorted(p.name for p in d.iterdir() if p.name.startswith("model") and p.is_file())


# ----------------------------------------------------------------------------------------------


def make_fixture(fx, out_dir):
    torch.manual_seed(fx["seed"])
    model = build_model(fx)
    randomise(model, fx["seed"])
    round_to(model, DTYPES[fx["dtype"]], fx.get("bb_fp32", False))
    base_state = copy.deepcopy(model.state_dict())

    last = None
    for attempt in range(MAX_ATTEMPTS):
        model.load_state_dict(base_state)
        try:
            golden, extras = reference(fx, model, fx["seed"] * 1000 + attempt)
            break
        except Retry as e:
            last = str(e)
    else:
        die(f"{fx['name']}: no prompt with healthy margins after {MAX_ATTEMPTS} attempts (last: {last})")

    max_logit = extras["max_abs_logit"]
    limit = SELF_TOL * max_logit
    for key in ("hf_cached_vs_full_max_abs", "hf_chunked_prefill_max_abs", "hf_prompt_vs_full_max_abs"):
        if not extras[key] <= limit:
            die(f"{fx['name']}: HF self-check {key} = {extras[key]:.3e} exceeds {limit:.3e} "
                f"(1e-4 * max|logit|)")
    if not extras["hf_generate_agrees"]:
        die(f"{fx['name']}: model.generate disagrees with the step-by-step cached greedy loop")
    if fx.get("target_skip"):
        sk = golden["router_skip"]
        for li in range(sk.shape[0]):
            if not (0 < int(sk[li].sum()) < sk.shape[1]):
                die(f"{fx['name']}: layer {li} router_skip is not mixed: {sk[li].tolist()}")
        if not 0.25 <= extras["router_skip_fraction_prompt"] <= 0.55:
            die(f"{fx['name']}: skip fraction {extras['router_skip_fraction_prompt']:.2f} off target")

    d = out_dir / fx["name"]
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    seq = golden["prompt_ids"].tolist() + golden["greedy_ids"].tolist()
    overrides = write_checkpoint(fx, model, d, seq, golden["full_logits"])
    save_file(golden, str(d / "golden.safetensors"),
              # one key only: safetensors writes a multi-key metadata map in a random order
              metadata={"source": f"{SCRIPT_REL} script_version={SCRIPT_VERSION}"})
    meta = {
        "script": SCRIPT_REL,
        "script_version": SCRIPT_VERSION,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
        "seed": fx["seed"],
        "prompt_seed": fx["seed"] * 1000 + attempt,
        "prompt_attempts": attempt + 1,
        "layout": fx["layout"],
        "weights_dtype": fx["dtype"],
        "balancing_biases_dtype": "fp32" if (fx.get("bb_fp32") or fx["dtype"] == "fp32") else fx["dtype"],
        "weights_files": weight_files(d),
        "hf_from_pretrained_overrode": overrides,
        "description": fx["description"],
        "reference": "HF ZayaForCausalLM, float32, attn_implementation=eager, weights rounded to "
                     "weights_dtype and back",
        "hidden_states_index": "hidden_states[0] = input of layer 0 ((embed + input_hidden_states_bias) * "
                               "input_hidden_states_scale, fp32); hidden_states[i] for 1 <= i < L = output of "
                               "decoder layer i-1; hidden_states[L] = model.norm(output of layer L-1) (HF replaces "
                               "the last entry by last_hidden_state); layer_out_last = output of layer L-1 before "
                               "model.norm",
        **extras,
    }
    with open(d / "meta.json", "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    for fn in d.iterdir():
        os.chmod(fn, 0o644)  # safetensors writes 0600
    return meta


# ----------------------------------------------------------------------------------------------
# --check


def load_st(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def compare_dirs(ref, new):
    """Compare committed fixture dir `ref` with regenerated `new`. Returns a list of problems."""
    problems = []
    rf = sorted(p.name for p in ref.iterdir())
    nf = sorted(p.name for p in new.iterdir())
    if rf != nf:
        return [f"{ref.name}: file lists differ: {rf} vs {nf}"]
    for name in rf:
        a, b = ref / name, new / name
        if name.endswith(".json"):
            ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
            for k in sorted(set(ja) | set(jb)):
                va, vb = ja.get(k), jb.get(k)
                if k in ("torch", "transformers", "safetensors", "numpy", "transformers_version"):
                    if va != vb:
                        print(f"  note: {ref.name}/{name}: {k} {va} (committed) vs {vb} (now)")
                    continue
                if k.endswith("_max_abs"):
                    # rounding-level noise that differs between CPUs: only the limit matters
                    if not (isinstance(vb, float) and vb <= SELF_TOL * jb["max_abs_logit"]):
                        problems.append(f"{ref.name}/{name}: {k} = {vb} over the limit")
                    continue
                if isinstance(va, float) and isinstance(vb, float):
                    # self-check diffs are near rounding level: compare loosely
                    if not math.isclose(va, vb, rel_tol=1e-3, abs_tol=1e-6):
                        problems.append(f"{ref.name}/{name}: {k} {va} vs {vb}")
                elif va != vb and not (isinstance(va, list) and isinstance(vb, list) and
                                       all(math.isclose(x, y, rel_tol=1e-3, abs_tol=1e-6)
                                           if isinstance(x, float) else x == y for x, y in zip(va, vb))
                                       and len(va) == len(vb)):
                    problems.append(f"{ref.name}/{name}: {k} differs: {va!r} vs {vb!r}")
        elif name.endswith(".safetensors"):
            ta, _ = load_st(a)
            tb, _ = load_st(b)
            if sorted(ta) != sorted(tb):
                problems.append(f"{ref.name}/{name}: tensor names differ")
                continue
            golden = name == "golden.safetensors"
            for k in sorted(ta):
                x, y = ta[k], tb[k]
                if x.dtype != y.dtype or x.shape != y.shape:
                    problems.append(f"{ref.name}/{name}:{k}: {x.dtype}{tuple(x.shape)} vs {y.dtype}{tuple(y.shape)}")
                elif not golden or not x.is_floating_point():
                    if not torch.equal(x, y):
                        problems.append(f"{ref.name}/{name}:{k}: values differ")
                else:
                    scale = max(1.0, float(x.abs().max()))
                    d = float((x - y).abs().max())
                    if d > 1e-4 * scale:
                        problems.append(f"{ref.name}/{name}:{k}: max abs diff {d:.3e} > {1e-4 * scale:.3e}")
        else:
            problems.append(f"{ref.name}: unexpected file {name}")
    return problems


# ----------------------------------------------------------------------------------------------


def summary(metas, out_dir):
    hdr = (f"{'fixture':22} {'layout':6} {'dtype':5} {'P':>3} {'L':>2} {'V':>5} {'KiB':>6} {'att':>3} "
           f"{'cached-full':>11} {'chunked':>9} {'margin':>8} {'rt-marg':>8} {'|logit|':>7} {'skip':>5}")
    print(hdr)
    print("-" * len(hdr))
    total = 0
    for fx, m in metas:
        d = out_dir / fx["name"]
        size = sum(p.stat().st_size for p in d.iterdir())
        total += size
        print(f"{fx['name']:22} {m['layout']:6} {m['weights_dtype']:5} {m['prompt_len']:>3} "
              f"{fx['cfg']['num_hidden_layers']:>2} {fx['cfg']['vocab_size']:>5} {size / 1024:>6.0f} "
              f"{m['prompt_attempts']:>3} {m['hf_cached_vs_full_max_abs']:>11.2e} "
              f"{m['hf_chunked_prefill_max_abs']:>9.2e} {m['min_greedy_margin_rel']:>8.2e} "
              f"{m['min_router_margin']:>8.2e} {m['max_abs_logit']:>7.2f} {m['router_skip_fraction_prompt']:>5.2f}")
    print(f"total {total / 1024:.0f} KiB in {out_dir}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir and compare with the fixtures in --out; exit 1 on mismatch")
    ap.add_argument("--only", action="append", default=[], help="only this fixture (repeatable)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    fixtures = [fx for fx in FIXTURES if not args.only or fx["name"] in args.only]
    unknown = set(args.only) - {fx["name"] for fx in FIXTURES}
    if unknown:
        die(f"unknown fixture(s) {sorted(unknown)}; known: {[fx['name'] for fx in FIXTURES]}")

    if args.check:
        with tempfile.TemporaryDirectory(prefix="zaya-fixtures-") as tmp:
            tmp = Path(tmp)
            metas = [(fx, make_fixture(fx, tmp)) for fx in fixtures]
            summary(metas, tmp)
            problems = []
            for fx in fixtures:
                ref = args.out / fx["name"]
                if not ref.is_dir():
                    problems.append(f"{fx['name']}: missing in {args.out}")
                    continue
                problems += compare_dirs(ref, tmp / fx["name"])
        if problems:
            print("CHECK FAILED:")
            for p in problems:
                print("  " + p)
            sys.exit(1)
        print(f"check OK: {len(fixtures)} fixture(s) in {args.out} match a fresh regeneration")
        return

    args.out.mkdir(parents=True, exist_ok=True)
    metas = []
    for fx in fixtures:
        metas.append((fx, make_fixture(fx, args.out)))
    summary(metas, args.out)


if __name__ == "__main__":
    main()
