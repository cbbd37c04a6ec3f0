#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang, ASan and UBSan, and runs each target
# that has a seed corpus folder tests/fuzz/corpus/<target>/ for a bounded time.
#   scripts/fuzz.sh                  all targets, FUZZ_SECONDS (default 30) each
#   scripts/fuzz.sh http1_request    only the named target(s) (with or without the _fuzz suffix)
# A target's executable is <target>_fuzz (tests/fuzz/<target>_fuzz.cpp); a new fuzz target is
# picked up by adding a corpus folder with its name. The seed corpus is copied to
# build/fuzz/corpus/<target>/ (new inputs land there, the checked-in seeds stay untouched);
# crashes go to build/fuzz/artifacts/<target>/. Exits non-zero if any target fails.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
build=$root/build/fuzz
seconds=${FUZZ_SECONDS:-30}

CC=clang CXX=clang++ cmake -G Ninja -S . -B "$build" -DPORTICO_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_targets

targets=()
if (($# > 0)); then
  for t in "$@"; do targets+=("${t%_fuzz}"); done
else
  for dir in "$root"/tests/fuzz/corpus/*/; do
    [[ -d $dir ]] && targets+=("$(basename "$dir")")
  done
fi
if ((${#targets[@]} == 0)); then
  echo "fuzz: no corpus folders under tests/fuzz/corpus/" >&2
  exit 1
fi

failed=()
for t in "${targets[@]}"; do
  exe=$build/tests/fuzz/${t}_fuzz
  seeds=$root/tests/fuzz/corpus/$t
  if [[ ! -x $exe ]]; then
    echo "fuzz: $t: no executable ${t}_fuzz (add it to tests/fuzz/CMakeLists.txt)" >&2
    failed+=("$t")
    continue
  fi
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  [[ -d $seeds ]] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz: $t for ${seconds}s (corpus $corpus)"
  log=$build/$t.log
  if "$exe" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" | sed "s/^/fuzz: $t: /"
  else
    echo "fuzz: $t FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    ls "$artifacts" >&2
    failed+=("$t")
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets clean"
