#!/usr/bin/env bash
# Makes (or resumes) the ranker's decoys in this folder: the validation complexes first, then the
# training complexes in a fixed random order, in pieces of 50, so that a run stopped at any point
# holds a random sample. Usage: bash models/training/decoys/run.sh DATA_ROOT
# (DATA_ROOT holds pdbbind_subset/ and extra_complexes/, as ../shared/data/unpack.sh makes them).
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA=${1:?usage: run.sh DATA_ROOT}
SPLITS=${SPLITS:-../shared/data/splits}
HERE=models/training/decoys
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
settings=(--exhaustiveness 1 --poses 20 --time-cap 100 --model models/training/pocket-v2/model.pt --samples 10)
piece() {  # piece DATASET IDS_FILE
    OMP_NUM_THREADS=1 .venv/bin/disco-dock decoys --data-dir "$DATA/$1" --ids "$2" --out "$HERE/$1" "${settings[@]}"
}
piece pdbbind_subset "$SPLITS/subset_val"
piece extra_complexes "$SPLITS/extra_val"
{ sed 's/$/ pdbbind_subset/' "$SPLITS/subset_train"; sed 's/$/ extra_complexes/' "$SPLITS/extra_train"; } \
    | .venv/bin/python -c "import random, sys; rows = sys.stdin.read().splitlines(); random.Random(0).shuffle(rows); print(*rows, sep='\n')" \
    > "$WORK/order.txt"
split -l 50 -d -a 3 "$WORK/order.txt" "$WORK/piece."
for chunk in "$WORK"/piece.*; do
    for dataset in pdbbind_subset extra_complexes; do
        awk -v d="$dataset" '$2 == d { print $1 }' "$chunk" > "$chunk.$dataset"
        [ -s "$chunk.$dataset" ] && piece "$dataset" "$chunk.$dataset"
    done
    echo "piece $(basename "$chunk") done: $(ls "$HERE"/*/*.npz 2>/dev/null | wc -l) complexes with decoys"
done
