#!/usr/bin/env bash
# The whole test suite, on a fresh machine with Java 17, Node 20 and Python 3: the AWS emulators
# (moto for IAM and STS, DynamoDB Local for DynamoDB; see scripts/emulators.sh, which installs
# them), formatting, clippy, every Rust test, the demo, and the deployment linters. Stops what it
# started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulators.sh

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test"
# The load test runs on its own afterwards, so that its numbers are not the other tests' traffic.
cargo test --all-targets -- --skip load_many
cargo test --test api load_many -- --nocapture
echo "== demo"
cargo run --quiet -- demo >target/demo.out
tail -n 1 target/demo.out
echo "== manifest, Dockerfile and CloudFormation linters"
bash scripts/lint-deploy.sh
echo "== parliament on the policy document"
bash scripts/lint-policy.sh
echo "== all checks passed"
