#!/usr/bin/env bash
# Executions per second of graphene, side by side with a naive baseline that
# starts a fresh /usr/bin/python3 per execution. See bench/README.md.
#
#   bench/executions_per_second.sh [--graphene PATH] [--generate N]
#       [--clean-repeat R] [--escape-repeat R] [--slots N[,N...]] [--runs K]
#       [--baseline N] [--grace MS] [--campaigns clean,escaping]
#
# Environment: GRAPHENE_BIN, BENCH_GENERATE, BENCH_CLEAN_REPEAT,
# BENCH_ESCAPE_REPEAT, BENCH_SLOTS, BENCH_RUNS, BENCH_BASELINE, BENCH_GRACE_MS,
# BENCH_CAMPAIGNS. Flags win over the environment.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Debian's interpreter and the standard library only (no pip packages).
exec /usr/bin/python3 "$here/executions_per_second.py" "$@"
