#!/usr/bin/env bash
# Checks `./lowbit4j generate --temperature 0` against llama2.c's own output (golden file) for
# every prompt, byte for byte, through the real launcher. Usage: examples/scripts/check-generate.sh [shared/data dir]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${1:-$ROOT/../shared/data}"
GOLDEN="$DATA/golden/stories260K_greedy.json"
[[ -f "$GOLDEN" ]] || { echo "check-generate: missing $GOLDEN" >&2; exit 1; }
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$GOLDEN")
pass=0; fail=0
for ((i = 0; i < n; i++)); do
  prompt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])]["prompt"], end="")' "$GOLDEN" "$i")
  steps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])]["steps"])' "$GOLDEN" "$i")
  expected=$(mktemp); actual=$(mktemp)
  python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))[int(sys.argv[2])]["text"] + "\n")' "$GOLDEN" "$i" > "$expected"
  "$ROOT/lowbit4j" generate --model "$DATA/models/stories260K.bin" --tokenizer "$DATA/models/tok512.bin" \
      --prompt "$prompt" --steps "$steps" --temperature 0 > "$actual" 2>/dev/null
  if cmp -s "$expected" "$actual"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "check-generate: prompt '$prompt' differs" >&2; fi
  rm -f "$expected" "$actual"
done
echo "check-generate: $pass of $n prompts match llama2.c byte for byte"
[[ $fail == 0 ]]
