#!/usr/bin/env bash
# bench/demo_depth.sh: the aggregation-depth ablation of the built-in model (configs/demo-depth.ini),
# with its budget-matched plain-sampling baseline, compared in one table and plot.
#
#   bash bench/demo_depth.sh [DB] [--set section.key=value ...]      (make demo-depth runs it)
#
# 1. RSA to depth T (configs/demo-depth.ini: rsa.rounds = 4). Round t's traces depend only on rounds
#    0..t, so this one run holds the whole T = 0..4 curve (`rsa report` prints every round).
# 2. The baseline: the same problems and sampling with T = 0 and N x (T + 1) samples per problem,
#    which covers the decode tokens RSA spends by its last round.
# 3. `rsa compare --baseline`: RSA mean_acc per round against the baseline's pass@1, maj@k and pass@k
#    at the same decode tokens per problem, with paired bootstrap CIs over problems; an HTML page
#    with the plots goes next to the database.
# Both runs resume if interrupted; a finished run is not recomputed.
set -euo pipefail
cd "$(dirname "$0")/.."
RSA=${RSA:-build/rsa}
DB=${1:-build/demo-depth.db}
[ $# -gt 0 ] && shift
CFG=configs/demo-depth.ini
get() { local k=$1; shift; "$RSA" config "$CFG" "$@" | awk -v k="$k" 'BEGIN{split(k,a,".")} /^\[/{s=substr($0,2,length($0)-2)} s==a[1] && $1==a[2]{print $3}'; }
N=$(get rsa.population "$@")
T=$(get rsa.rounds "$@")
NAME=$(get run.name "$@")
[ -n "$N" ] && [ -n "$T" ] && [ -n "$NAME" ] || { echo "demo_depth.sh: cannot read $CFG" >&2; exit 2; }
"$RSA" run "$CFG" --db "$DB" --quiet "$@"
"$RSA" run "$CFG" --db "$DB" --quiet "$@" --set "run.name=$NAME-baseline" --set rsa.rounds=0 \
    --set "rsa.population=$((N * (T + 1)))" > /dev/null
"$RSA" compare --db "$DB" --runs "$NAME" --baseline "$NAME-baseline"
"$RSA" compare --db "$DB" --runs "$NAME" --baseline "$NAME-baseline" --format html --out "${DB%.db}.html"
echo "plots: ${DB%.db}.html"
