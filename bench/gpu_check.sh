#!/usr/bin/env bash
# One prepared check of training and separation on a GPU box (issue 20); ≤ 8 minutes.
#
#   PYTHONPATH=. bash bench/gpu_check.sh [--out DIR] [--device cuda|cpu] [--quick] [--python PY]
#
# Needs only this checkout, the box's own Python 3 and torch 2.x (never installs torch),
# numpy, soundfile, pyyaml, tqdm and norbert (it names any that are missing and stops);
# openunmix and musdb are optional (their comparisons are skipped, and the summary says so).
# No ffmpeg, no internet. Every phase runs under its own time cap; each figure is printed and
# appended to DIR/results.jsonl the moment it is measured, and DIR/summary.md collects them
# all at the end, also when a phase or the whole script is cut short (Ctrl-C, SIGTERM).
# --device cpu --quick is the CI-size form (tests/test_gpu_check.py).
set -u

OUT=bench/gpu_check_out
DEVICE=cuda
QUICK=()
PY=${PYTHON:-python3}
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --device) DEVICE=$2; shift 2 ;;
        --quick) QUICK=(--quick); shift ;;
        --python) PY=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.." || exit 2
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
# cuBLAS reads this when it starts: fixed for every phase, so that deterministic and
# non-deterministic runs in one process compare under the same cuBLAS set-up
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
command -v "$PY" >/dev/null || { echo "gpu_check.sh: no '$PY' on PATH; pass --python" >&2; exit 2; }
"$PY" bench/gpu_check.py --check-packages || exit 2
if [ "${DEVICE%%:*}" = cuda ] && ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "gpu_check.sh: --device $DEVICE, but this torch sees no CUDA device (CPU-only build, driver, or" \
         "CUDA_VISIBLE_DEVICES); use --device cpu for the CPU form" >&2
    exit 2
fi

mkdir -p "$OUT"
: > "$OUT/results.jsonl"
record() {  # phase key value note
    "$PY" - "$OUT/results.jsonl" "$@" <<'EOF'
import json, sys
path, phase, key, value, note = sys.argv[1:6]
print(f"[{phase}] {key}: {value}  ({note})", flush=True)
with open(path, "a") as f:
    f.write(json.dumps({"phase": phase, "key": key, "value": value, "unit": "", "note": note}) + "\n")
EOF
}

CHILD=
finish() {
    trap - EXIT INT TERM
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
    "$PY" bench/gpu_check.py --summary --out "$OUT"
}
trap finish EXIT
trap 'record script stopped "by a signal" "partial results below"; exit 130' INT TERM

if [ "$DEVICE" = cuda ] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader | while read -r line; do
        record env nvidia-smi "$line" "before the check"
    done
fi

# phase:cap in seconds; the caps sum to 450 s, leaving time for start-up under 8 minutes
for entry in env:20 data:40 train:140 data_path:50 resume:50 seeds:60 separate:90; do
    phase=${entry%%:*}
    cap=${entry##*:}
    [ ${#QUICK[@]} -gt 0 ] && cap=$((cap * 4))  # the CI-size form runs on small, shared CPUs
    started=$(date +%s)
    timeout --kill-after=10 "$cap" "$PY" bench/gpu_check.py --phase "$phase" --out "$OUT" --device "$DEVICE" "${QUICK[@]}" &
    CHILD=$!
    wait "$CHILD"
    rc=$?
    CHILD=
    took=$(( $(date +%s) - started ))
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        record "$phase" "phase cut" "at its cap of $cap s" "figures above are what it measured before"
    elif [ "$rc" -ne 0 ]; then
        record "$phase" "phase failed" "exit status $rc after $took s" "see the output above"
    else
        record "$phase" "phase time" "$took s" "cap $cap s"
    fi
done
