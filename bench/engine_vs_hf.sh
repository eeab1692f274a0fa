#!/usr/bin/env bash
# engine_vs_hf.sh: the CPU engine benchmark, with its reference measured in the same run.
#
#   bash bench/engine_vs_hf.sh [MODEL_DIR] [THREADS]
#
# 1. writes a seeded random checkpoint of the zaya1-mid shape (~0.5 B parameters) unless MODEL_DIR
#    already holds one (default /tmp/rsa-bench-zaya1-mid);
# 2. runs `rsa bench engine` at batch 1 and 16 (it measures this machine's memory read bandwidth
#    itself, in the same process, and reports the weight traffic as a fraction of it);
# 3. runs the same workload through Hugging Face transformers (eager, fp32 and bf16) from the
#    reference venv .venv-zaya (created from tests/reference/zaya/requirements.txt when absent);
# 4. prints the speed ratios. Record the output, with the machine, in results/engine-cpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-/tmp/rsa-bench-zaya1-mid}
THREADS=${2:-$(nproc)}
PLEN=${PLEN:-128}
GLEN=${GLEN:-32}
RSA=${RSA:-build/rsa}
VENV=${VENV:-.venv-zaya}

[ -x "$RSA" ] || make -s
if [ ! -f "$MODEL/config.json" ]; then
    "$RSA" model init --shape zaya1-mid --random --seed 1 --out "$MODEL"
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r tests/reference/zaya/requirements.txt
fi

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, threads used: $THREADS"
echo "model:   $MODEL ($(du -sh "$MODEL" | cut -f1)), prompt $PLEN, generate $GLEN"
declare -A ENG HF
for B in 1 16; do
    ENG[$B]=$("$RSA" bench engine --model "$MODEL" --batch "$B" --prompt-len "$PLEN" --gen-len "$GLEN" \
              --threads "$THREADS" --json)
    echo "rsa engine  batch $B: ${ENG[$B]}"
    for DT in float32 bfloat16; do
        HF[$B,$DT]=$("$VENV/bin/python" bench/hf_decode.py --model "$MODEL" --batch "$B" --prompt-len "$PLEN" \
                     --gen-len "$GLEN" --threads "$THREADS" --dtype "$DT" 2>/dev/null | tail -1)
        echo "hf $DT batch $B: ${HF[$B,$DT]}"
    done
done
python3 - "${ENG[1]}" "${ENG[16]}" "${HF[1,float32]}" "${HF[1,bfloat16]}" "${HF[16,float32]}" "${HF[16,bfloat16]}" <<'EOF'
import json, sys
e1, e16, h1f, h1b, h16f, h16b = (json.loads(s) for s in sys.argv[1:])
print()
print("| batch | rsa decode tok/s | weight GB/s | % of measured bandwidth | HF fp32 tok/s | HF bf16 tok/s | speed-up vs best HF |")
print("|---|---|---|---|---|---|---|")
for e, hf, hb in ((e1, h1f, h1b), (e16, h16f, h16b)):
    best = max(hf["decode_tok_s"], hb["decode_tok_s"])
    print(f"| {e['batch']} | {e['decode_tok_s']:.2f} | {e['weight_gb_s']:.2f} | {100*e['bw_fraction']:.0f}% "
          f"(of {e['mem_bw_gb_s']:.1f} GB/s) | {hf['decode_tok_s']:.2f} | {hb['decode_tok_s']:.2f} | "
          f"{e['decode_tok_s']/best:.1f}x |")
best_p = max(h1f["prefill_tok_s"], h1b["prefill_tok_s"])
print(f"\nprefill ({e1['prompt_len']} tokens): rsa {e1['prefill_tok_s']:.1f} tok/s, HF best {best_p:.1f} tok/s "
      f"= {e1['prefill_tok_s']/best_p:.1f}x")
EOF
