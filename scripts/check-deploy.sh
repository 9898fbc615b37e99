#!/usr/bin/env bash
# The deploy checks that would have noticed a broken first deploy (issue "The first deploy works"):
#   1. the image carries no config and names no config source (scripts/deploy-check/dockerfile_check.py);
#   2. the templates' IAM policies, resolved per partition and option, evaluated offline by
#      @cloud-copilot/iam-simulate for every AWS call in src/aws/calls.rs (policies.py, simulate.mjs);
#   3. deploy/*.yaml deployed into moto's CloudFormation, and `revoke-role-bot check-config` passing
#      against the table it made (moto_deploy.py, with its own moto server on a free loopback port).
#
# Installs what it needs: moto into the venv $VENV (default .venv), iam-simulate into
# scripts/deploy-check/node_modules (npm ci, pinned by package-lock.json). Builds the bot and the
# aws_calls example with cargo. Stops what it started.
#
#   bash scripts/check-deploy.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$repo/.venv}
case $venv in
  /*) ;;
  *) venv=$PWD/$venv ;;
esac
here=$repo/scripts/deploy-check
cd "$repo"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import moto, werkzeug, boto3, cfnlint" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6' cfn-lint
fi
if [ ! -d "$here/node_modules/@cloud-copilot/iam-simulate" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

work=$(mktemp -d)
moto_pid=
cleanup() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --bin revoke-role-bot --example aws_calls
target_dir=$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$target_dir/debug/examples/aws_calls" >"$work/calls.json"

failed=0
"$venv/bin/python" "$here/dockerfile_check.py" || failed=1
"$venv/bin/python" "$here/policies.py" "$work/scenarios.json" || failed=1
if [ -s "$work/scenarios.json" ]; then
  node "$here/simulate.mjs" "$work/calls.json" "$work/scenarios.json" || failed=1
fi

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 100); do
  if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then break; fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "FAIL moto_server did not start:"; cat "$work/moto.log"; exit 1; }
  sleep 0.1
done
"$venv/bin/python" "$here/moto_deploy.py" "http://127.0.0.1:$port" "$target_dir/debug/revoke-role-bot" "$work" || failed=1

exit "$failed"
