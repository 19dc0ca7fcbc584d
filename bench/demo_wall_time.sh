#!/usr/bin/env bash
# Wall time of the demo study (the default target, as make demo) from an empty results/
# (the venv already set up), and its separation quality.
#   bash bench/demo_wall_time.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf data results resume logs benchmarks
start=$(date +%s)
.venv/bin/snakemake --cores "$(nproc)" --quiet
echo "demo wall time: $(( $(date +%s) - start )) s on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
.venv/bin/python bench/demo_quality.py
