#!/usr/bin/env bash
# Wall time and peak memory of `zoetrope generate` (default settings, the bundled model), a fresh
# process each, for two checkouts (e.g. one made with `git worktree add /tmp/before <commit>` and
# node_modules linked in) or one checkout with two sets of flags, alternating run by run; prints
# the CPU and each side's median.
#
#   bench/generate-wall.sh <checkout A> <checkout B> [runs=4]
#   FLAGS_B=--image-first bench/generate-wall.sh . . 4
set -euo pipefail
a=$(cd "${1:?checkout A}" && pwd)
b=$(cd "${2:?checkout B}" && pwd)
runs=${3:-4}
prompt="a red ball bounces on the grass"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs) model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
for i in $(seq "$runs"); do
  for side in A B; do
    if [ $side = A ]; then dir=$a flags=${FLAGS_A:-}; else dir=$b flags=${FLAGS_B:-}; fi
    # shellcheck disable=SC2086 # the flags are words
    (cd "$dir" && /usr/bin/time -f "%e %M" -o "$out/t" npx tsx src/cli/main.ts generate "$prompt" \
      -o "$out/clip.mp4" $flags >/dev/null 2>&1)
    read -r wall kib <"$out/t"
    echo "$side $wall $kib" >>"$out/all"
    echo "$side ($dir $flags): wall $wall s, peak $((kib / 1024)) MiB"
  done
done
for side in A B; do
  awk -v s=$side '$1 == s { print $2 }' "$out/all" | sort -n |
    awk -v s=$side '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s median %.2f s over %d runs\n", s, m, NR }'
done
