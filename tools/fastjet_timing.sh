#!/bin/sh
# Builds tools/fastjet_timing.cpp against the libfastjet.so and headers shipped in the `fastjet`
# wheel (pip install fastjet==3.5.2.0) and runs it on the default events, or on each file given.
# Usage: tools/fastjet_timing.sh [passes] [events.csv.gz ...]
set -e
cd "$(dirname "$0")/.."
FJ=$(python3 -c "import fastjet, os; print(os.path.dirname(fastjet.__file__))")
OUT=${CARGO_TARGET_DIR:-target}/fastjet_timing
mkdir -p "$(dirname "$OUT")"
g++ -O2 -std=c++17 -I"$FJ/include" tools/fastjet_timing.cpp -L"$FJ/lib64" -lfastjet \
    -Wl,-rpath,"$FJ/lib64" -o "$OUT"
PASSES=${1:-20}
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- data/zh_llbb_13p6tev_particles.csv.gz
for f in "$@"; do
    echo "$f"
    gzip -dc "$f" | "$OUT" "$PASSES"
done
