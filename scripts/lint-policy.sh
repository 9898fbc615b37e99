#!/usr/bin/env bash
# Lints the exact AWSRevokeOlderSessions document the bot writes with parliament
# (PyPI, duo-labs' IAM policy linter): any finding, at any severity, fails.
#
# parliament lives in a Python venv: $VENV, default .venv at the repo root. It is
# created, and parliament installed from PyPI, on first use.
#
#   bash scripts/lint-policy.sh
#   VENV=/tmp/lintvenv bash scripts/lint-policy.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$repo/.venv}
# A relative VENV is taken from where the script was started, like any path argument.
case $venv in
  /*) ;;
  *) venv=$PWD/$venv ;;
esac

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -x "$venv/bin/parliament" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'parliament>=1.6,<2'
fi

cd "$repo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# parliament's --file refuses to run when stdin is not a terminal (as under CI), so
# the file is named with --files, which reads it the same way; stdin is closed.
lint() {
  "$venv/bin/parliament" --minimum_severity INFO --files "$1" </dev/null 2>&1
}

# A control: a document with known problems must produce findings, or the linter
# is not doing its job and a clean result below would mean nothing.
cat >"$tmp/control.json" <<'EOF'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
  "Resource": ["*"], "Condition": {"DateLessThan": {"aws:TokenIssueTime": "yesterday"}}}]}
EOF
if control=$(lint "$tmp/control.json") || [ -z "$control" ]; then
  echo "parliament found nothing wrong with a deliberately broken policy; is it working?" >&2
  exit 1
fi

cargo run --quiet -- policy --cutoff 2026-11-23T12:00:00Z >"$tmp/policy.json"
if [ ! -s "$tmp/policy.json" ]; then
  echo "revoke-role-bot policy printed nothing" >&2
  exit 1
fi

status=0
out=$(lint "$tmp/policy.json") || status=$?
if [ "$status" -ne 0 ] || [ -n "$out" ]; then
  echo "parliament: the AWSRevokeOlderSessions document has findings (exit $status):" >&2
  [ -n "$out" ] && echo "$out" >&2
  echo "--- the document:" >&2
  cat "$tmp/policy.json" >&2
  exit 1
fi
echo "ok   parliament: no findings in the AWSRevokeOlderSessions document"
