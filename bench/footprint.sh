#!/usr/bin/env bash
# Install size and import time of a package as a user gets it, the same way for every contender:
# `npm install` into a throw-away ESM app (no dev dependencies, no optional peers), `du -sh` of its
# node_modules, then the median of N `await import(...)` timings, each in a fresh node process.
#   bash bench/footprint.sh NAME "SPEC [SPEC…]" "MODULE [MODULE…]" [RUNS]
# e.g. bash bench/footprint.sh tiercache ./tiercache-0.1.0.tgz tiercache
#      bash bench/footprint.sh bentocache bentocache bentocache
#      bash bench/footprint.sh cache-manager "cache-manager @keyv/redis" "cache-manager @keyv/redis"
set -euo pipefail
name="$1"; specs="$2"; modules="$3"; runs="${4:-9}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
specs_abs=()
for s in $specs; do
  # A local tarball path is taken from where the script was called.
  if [ -f "$s" ]; then specs_abs+=("$(cd "$(dirname "$s")" && pwd)/$(basename "$s")"); else specs_abs+=("$s"); fi
done
echo '{ "name": "footprint", "private": true, "type": "module" }' >"$dir/package.json"
(cd "$dir" && npm install --no-audit --no-fund --prefer-offline --loglevel=error "${specs_abs[@]}" >/dev/null)
size="$(du -sh "$dir/node_modules" | cut -f1)"
count="$(find "$dir/node_modules" -name package.json -path '*/node_modules/*' -not -path '*/node_modules/*/node_modules/*/*' | wc -l)"
imports=""
for m in $modules; do imports+="await import('$m');"; done
times=()
for _ in $(seq "$runs"); do
  times+=("$(cd "$dir" && node --input-type=module -e "const t = performance.now(); $imports console.log((performance.now() - t).toFixed(1));")")
done
median="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
printf '%-16s size %6s  (%s package.json files)  import median %s ms of %s runs: %s\n' "$name" "$size" "$count" "$median" "$runs" "${times[*]}"
