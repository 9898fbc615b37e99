#!/usr/bin/env bash
# The whole test suite, on a fresh machine: a Python venv with moto[server] and the linters,
# moto on a free loopback port, formatting, clippy, every Rust test, the demo, and the
# deployment linters. Stops what it started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export VENV

if ! "$VENV/bin/python" -c "import moto, werkzeug" 2>/dev/null; then
  echo "== creating $VENV with moto[server]"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6'
fi

mkdir -p target
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/python" scripts/moto_server.py "$PORT" >target/moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/_test/calls', timeout=1)" 2>/dev/null; then break; fi
  kill -0 "$MOTO_PID" 2>/dev/null || { echo "moto_server did not start:"; cat target/moto.log; exit 1; }
  sleep 0.1
done
case $VENV in /*) MOTO_PYTHON=$VENV/bin/python ;; *) MOTO_PYTHON=$PWD/$VENV/bin/python ;; esac
export MOTO_PYTHON
export MOTO_ENDPOINT="http://127.0.0.1:$PORT"
echo "== moto_server (pid $MOTO_PID) on $MOTO_ENDPOINT"
"$VENV/bin/python" scripts/check_moto_transactions.py "$MOTO_ENDPOINT"

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
