#!/usr/bin/env bash
# The full flow against the emulators (moto for IAM and STS, DynamoDB Local for DynamoDB; see
# scripts/emulators.sh): click-to-policy latency beside the emulators' own per-call latency, then
# the full-size load (10,000 signed slash commands and 1,000 approvals, audit verify, counts).
#   bash bench/flow.sh            (LOAD_COMMANDS / LOAD_APPROVALS / ROUNDS override the sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
EMULATOR_LOGS=target/bench
source scripts/emulators.sh
# The benchmark example builds its AWS configuration from the standard variables.
export AWS_ENDPOINT_URL_DYNAMODB=$DYNAMODB_ENDPOINT AWS_ENDPOINT_URL_IAM=$MOTO_ENDPOINT AWS_ENDPOINT_URL_STS=$MOTO_ENDPOINT

echo "== click to verified policy, against the emulators (${ROUNDS:-30} rounds)"
cargo run --release --quiet --example click_to_policy -- "${ROUNDS:-30}" | tee target/bench/click_to_policy.md

echo "== load: ${LOAD_COMMANDS:-10000} signed commands (${LOAD_REQUESTS:-1000} of them requests), ${LOAD_APPROVALS:-1000} approvals"
LOAD_COMMANDS=${LOAD_COMMANDS:-10000} LOAD_REQUESTS=${LOAD_REQUESTS:-1000} LOAD_APPROVALS=${LOAD_APPROVALS:-1000} \
  LOAD_WAIT_SECS=${LOAD_WAIT_SECS:-3600} \
  cargo test --release --test api load_many -- --nocapture 2>&1 | grep -E "^load:|test result|panicked|FAILED|timed out|assert" | tee target/bench/load.txt
