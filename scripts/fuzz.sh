#!/usr/bin/env bash
# Runs each fuzz target given as package:Target for FUZZTIME (default 10s).
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" at the -fuzztime boundary on a loaded machine, without
# any failing input (go.dev/issue/75804, fixed in Go 1.27). Such a run is
# tried once more; any other failure, and a run that writes a failing input,
# fails at once.
#
# Usage: FUZZTIME=10s scripts/fuzz.sh ./platform/httpx:FuzzDecodeJSON ...
set -uo pipefail
fuzztime=${FUZZTIME:-10s}
log=$(mktemp); trap 'rm -f "$log"' EXIT

for target in "$@"; do
  pkg=${target%%:*}; fn=${target##*:}
  for try in 1 2; do
    echo "fuzz $fn ($fuzztime)"
    if go test -run='^$' -fuzz="^$fn\$" -fuzztime="$fuzztime" "$pkg" 2>&1 | tee "$log"; then
      break
    fi
    if [ "$try" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
      echo "fuzz $fn: the fuzzing engine's deadline race (go.dev/issue/75804), no failing input: trying once more"
      continue
    fi
    exit 1
  done
done
