#!/usr/bin/env bash
# The benchmark, one command:   bash bench/run.sh
#
# Loads, one after the other, on 127.0.0.1 only:
#   bare              examples/bare_ceiling.rs: axum, HMAC check, form, JSON answer (the ceiling)
#   bare2             the same binary again, as a second target: bare vs bare2 is an A/A run (the method's noise)
#   bot               examples/bench_server.rs: revoke-role-bot's real router, in-memory store and IAM, no-op Slack
#   bolt-js           ../shared/bench/peers/bolt-js      (HTTPReceiver; npm-installed in a copy under target/)
#   bolt-py-uvicorn   ../shared/bench/peers/bolt-python  (AsyncApp, ASGI, uvicorn)
#   bolt-py-gunicorn  ../shared/bench/peers/bolt-python  (App, WSGI, gunicorn -w 2 sync workers)
# with two scenarios each: a Slack-signed `/revoke-role help` slash command (answered 200) and the same request
# unsigned (answered 401). Per scenario: wrk -t2 -c32 for $DURATION with --latency, resident memory sampled every
# 100 ms over the process tree, user+system CPU of the process tree from /proc; then (in the first $C1_ROUNDS
# rounds) wrk -t1 -c1 for $C1_DURATION, then the same with wrk and the server both on CPU 0 (taskset). The
# request is signed with a fresh timestamp just before each scenario (Slack's window is 300 s).
#
# Rounds: the Rust targets (bare, bare2, bot) are each started and loaded $ROUNDS times, a fresh process each
# round, alternating, and the order flips every round (bare bot, bot bare, bare bot, ...) so that a machine that
# gets busier or quieter during the run weighs on both alike. The peers run $PEER_ROUNDS times. The report gives
# per scenario the median and the min–max of req/s, CPU per request and p99, the bot ÷ ceiling ratios of the
# medians, the per-round paired ratios, and a Mann–Whitney test of the rounds (can the run tell them apart?).
#
# Installs what is missing: wrk (apt), bench/.venv (slack_bolt gunicorn uvicorn aiohttp slack_sdk), the Bolt for JS
# peer's node_modules (in target/bench-peers/bolt-js; ../shared is never written). Builds the examples in release.
# Results: printed, and written to target/bench/results.md; raw wrk output in target/bench/raw/.
#
# Environment: DURATION (10s), C1_DURATION (5s), ROUNDS (5), PEER_ROUNDS (1), C1_ROUNDS (1),
# TARGETS (all five, space-separated), PEERS (../shared/bench/peers).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-$(cd "$ROOT/.." && pwd)/shared/bench/peers}
DURATION=${DURATION:-10s}
C1_DURATION=${C1_DURATION:-5s}
ROUNDS=${ROUNDS:-5}
PEER_ROUNDS=${PEER_ROUNDS:-1}
C1_ROUNDS=${C1_ROUNDS:-1}
TARGETS=${TARGETS:-bare bot bolt-js bolt-py-uvicorn bolt-py-gunicorn}
OUT=$ROOT/target/bench
RAW=$OUT/raw
VENV=$ROOT/bench/.venv
JS_DIR=$ROOT/target/bench-peers/bolt-js
PY=${PYTHON:-python3}
BENCH_PY="$PY $ROOT/bench/bench.py"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ---- cleanup: everything started here is stopped here ----
SERVER_PID=""
SAMPLER_PID=""

tree_pids() { # PID -> PIDS (the process and its descendants), without forking
  local queue=("$1") p c
  PIDS=()
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    PIDS+=("$p")
    for f in /proc/"$p"/task/*/children; do
      [[ -r $f ]] || continue
      kids=()
      read -r -a kids <"$f" || true
      for c in "${kids[@]}"; do queue+=("$c"); done
    done
  done
}

tree_rss_kb() { # PID -> RSS_KB: VmRSS summed over the process tree
  local p k v _
  RSS_KB=0
  tree_pids "$1"
  for p in "${PIDS[@]}"; do
    [[ -r /proc/$p/status ]] || continue
    while read -r k v _; do
      if [[ $k == VmRSS: ]]; then
        RSS_KB=$((RSS_KB + v))
        break
      fi
    done <"/proc/$p/status" || true
  done
}

stop_pid() { # PID: TERM the process, KILL what is left of its tree after 5 s
  local pid=$1 i
  [[ -n $pid ]] || return 0
  tree_pids "$pid"
  local tree=("${PIDS[@]}")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  for p in "${tree[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  if [[ -n $SAMPLER_PID ]]; then
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
  fi
  if [[ -n $SERVER_PID ]]; then
    stop_pid "$SERVER_PID"
    SERVER_PID=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- install what is missing ----
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! command -v wrk >/dev/null; then
  log "installing wrk (apt)"
  as_root apt-get install -y wrk || { as_root apt-get update && as_root apt-get install -y wrk; }
fi

wants() { [[ " $TARGETS " == *" $1"* ]]; } # a target whose name starts with $1 is asked for

PY_OK=1
if wants bolt-py- && { [[ ! -x $VENV/bin/uvicorn || ! -x $VENV/bin/gunicorn ]] || ! "$VENV/bin/python" -c 'import slack_bolt, aiohttp, slack_sdk' 2>/dev/null; }; then
  log "creating bench/.venv (slack_bolt gunicorn uvicorn aiohttp slack_sdk)"
  if ! { "$PY" -m venv "$VENV" && "$VENV/bin/pip" install -q slack_bolt gunicorn uvicorn aiohttp slack_sdk; }; then
    PY_OK=0
    log "could not install the Bolt for Python peers; they are left out"
  fi
fi

JS_OK=1
if wants bolt-js && { [[ ! -f $JS_DIR/node_modules/@slack/bolt/package.json ]] || ! cmp -s "$PEERS/bolt-js/package.json" "$JS_DIR/package.json" || ! cmp -s "$PEERS/bolt-js/app.js" "$JS_DIR/app.js"; }; then
  log "npm install in a copy of the Bolt for JS peer (target/bench-peers/bolt-js)"
  mkdir -p "$JS_DIR"
  cp "$PEERS/bolt-js/app.js" "$PEERS/bolt-js/package.json" "$JS_DIR/"
  if ! (command -v node >/dev/null && cd "$JS_DIR" && npm install --no-audit --no-fund --loglevel=error); then
    JS_OK=0
    log "could not install the Bolt for JS peer; it is left out"
  fi
fi

# The crates the benchmarked requests never run (the AWS SDKs and their TLS stack, Slack's Web API client, the
# test-only crates) are built unoptimized: on a 2-core machine they are most of a cold release build. Everything
# the requests run (tokio, hyper, axum, serde, hmac and sha2, tracing, the bot's own crate) is built exactly as
# `cargo build --release` builds it. BENCH_FULL_RELEASE=1 optimizes everything.
UNREACHED="aws-config aws-credential-types aws-lc-rs aws-lc-sys aws-runtime aws-sdk-dynamodb aws-sdk-iam aws-sdk-sso
  aws-sdk-ssoadmin aws-sdk-ssooidc aws-sdk-sts aws-sigv4 aws-smithy-async aws-smithy-http aws-smithy-http-client
  aws-smithy-json aws-smithy-observability aws-smithy-query aws-smithy-runtime aws-smithy-runtime-api
  aws-smithy-schema aws-smithy-types aws-smithy-xml aws-types clap clap_builder hyper-rustls proptest regex
  regex-automata regex-syntax reqwest ring rustls rustls-webpki slack-morphism tokio-tungstenite toml toml_edit
  toml_parser tungstenite wiremock"
BUILD_FLAGS=()
if [[ ${BENCH_FULL_RELEASE:-0} != 1 ]]; then
  for c in $UNREACHED; do BUILD_FLAGS+=(--config "profile.release.package.$c.opt-level=0"); done
fi
log "cargo build --release --example bench_server --example bare_ceiling"
(cd "$ROOT" && cargo build --release --example bench_server --example bare_ceiling "${BUILD_FLAGS[@]}")

# ---- one target ----
rm -rf "$RAW"
mkdir -p "$RAW"
: >"$OUT/results.tsv"
SLACK_SIGNING_SECRET=$(openssl rand -hex 16)
export SLACK_SIGNING_SECRET

record() { # name round scenario note idle_kb peak_kb other_cpu server_cpu_s steal load1
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OUT/results.tsv"
}

load1() { # -> LOAD1: the 1-minute load average
  local _rest
  read -r LOAD1 _rest </proc/loadavg
}

start_target() { # name port logfile -> SERVER_PID, URL
  local name=$1 port=$2 logf=$3
  case $name in
  bare | bare2)
    "$ROOT/target/release/examples/bare_ceiling" "$port" >"$logf" 2>&1 &
    URL=http://127.0.0.1:$port/slack/commands
    ;;
  bot)
    "$ROOT/target/release/examples/bench_server" "$port" >"$logf" 2>&1 &
    URL=http://127.0.0.1:$port/slack/commands
    ;;
  bolt-js)
    (cd "$JS_DIR" && exec node app.js http "$port") >"$logf" 2>&1 &
    URL=http://127.0.0.1:$port/slack/events
    ;;
  bolt-py-uvicorn)
    (cd "$PEERS/bolt-python" && PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/uvicorn" --host 127.0.0.1 --port "$port" async_app:asgi) >"$logf" 2>&1 &
    URL=http://127.0.0.1:$port/slack/events
    ;;
  bolt-py-gunicorn)
    (cd "$PEERS/bolt-python" && PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/gunicorn" -b 127.0.0.1:"$port" -w 2 sync_app:wsgi) >"$logf" 2>&1 &
    URL=http://127.0.0.1:$port/slack/events
    ;;
  *)
    echo "unknown target $name" >&2
    return 1
    ;;
  esac
  SERVER_PID=$!
}

wait_ready() { # url: until anything answers HTTP (30 s)
  local i code
  for ((i = 0; i < 300; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 2 "$1" || true)
    [[ $code != 000 ]] && return 0
    sleep 0.1
  done
  return 1
}

CLK_TCK=$(getconf CLK_TCK)

cpu_busy() { # -> BUSY: jiffies all CPUs spent running this guest's work; STEAL: jiffies the hypervisor kept
  local _c u n s _i _w irq sirq st _rest
  read -r _c u n s _i _w irq sirq st _rest </proc/stat
  BUSY=$((u + n + s + irq + sirq))
  STEAL=$st
}

tree_cpu() { # PID -> TREE_CPU: user+system jiffies of the process tree
  local p f
  TREE_CPU=0
  tree_pids "$1"
  for p in "${PIDS[@]}"; do
    [[ -r /proc/$p/stat ]] || continue
    read -r -a f <"/proc/$p/stat" || true
    ((${#f[@]} > 14)) && TREE_CPU=$((TREE_CPU + f[13] + f[14]))
  done
}

sample_peak() { # pid outfile: write the peak tree RSS (kB) to outfile until killed
  local peak=0
  while :; do
    tree_rss_kb "$1"
    if ((RSS_KB > peak)); then
      peak=$RSS_KB
      echo "$peak" >"$2"
    fi
    sleep 0.1
  done
}

run_target() { # name round
  local name=$1 round=$2 port idle other scenario note peak lua srv_cpu steal load tag
  tag=$name.r$round
  case $name in
  bolt-js) ((JS_OK)) || { record "$name" "$round" help "not installed" - - - - - -; return 0; } ;;
  bolt-py-*) ((PY_OK)) || { record "$name" "$round" help "not installed" - - - - - -; return 0; } ;;
  esac
  port=$($BENCH_PY port)
  log "$name (round $round of $(rounds_of "$name")) on 127.0.0.1:$port"
  start_target "$name" "$port" "$RAW/$tag.log"
  if ! wait_ready "$URL"; then
    log "$name did not start; see $RAW/$tag.log"
    record "$name" "$round" help "did not start" - - - - - -
    stop_pid "$SERVER_PID"
    SERVER_PID=""
    return 0
  fi
  # idle: started, answered its first requests, then left alone for a second
  $BENCH_PY check help "$URL" >/dev/null || true
  $BENCH_PY check unsigned "$URL" >/dev/null || true
  sleep 1
  tree_rss_kb "$SERVER_PID"
  idle=$RSS_KB
  for scenario in help unsigned; do
    note=""
    if ! answer=$($BENCH_PY check "$scenario" "$URL"); then
      log "$name answered the $scenario request wrongly: $answer"
      record "$name" "$round" "$scenario" "wrong answer: ${answer:0:60}" "$idle" - - - - -
      continue
    fi
    echo "$answer" >"$RAW/$tag.$scenario.answer.txt"
    lua=$RAW/$tag.$scenario.lua
    $BENCH_PY lua "$scenario" "$lua"
    rm -f "$RAW/$tag.$scenario.peak"
    sample_peak "$SERVER_PID" "$RAW/$tag.$scenario.peak" &
    SAMPLER_PID=$!
    load1
    load=$LOAD1
    cpu_busy
    local busy0=$BUSY steal0=$STEAL t0=$EPOCHREALTIME
    tree_cpu "$SERVER_PID"
    local srv0=$TREE_CPU
    TIMEFORMAT='%U %S'
    { time wrk -t2 -c32 -d"$DURATION" --latency -s "$lua" "$URL" >"$RAW/$tag.$scenario.c32.txt" 2>&1; } 2>"$RAW/$tag.$scenario.wrktime" || note="wrk c32 failed"
    cpu_busy
    tree_cpu "$SERVER_PID"
    # CPU used by everything but the server and wrk during the c32 run (other work on the machine), in cores
    other=$($PY -c 'import sys; b,s,w,e,hz=map(float,sys.argv[1:]); print(f"{max(0.0,(b-s)/hz-w)/e:.2f}")' \
      "$((BUSY - busy0))" "$((TREE_CPU - srv0))" \
      "$(awk '{print $1 + $2}' "$RAW/$tag.$scenario.wrktime" 2>/dev/null || echo 0)" \
      "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')" "$CLK_TCK")
    # Cores the hypervisor took from this VM during the c32 run (steal time: other tenants of the host)
    steal=$(awk -v d="$((STEAL - steal0))" -v hz="$CLK_TCK" -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", d / hz / (b - a)}')
    # CPU time the server's process tree used during the c32 run, in seconds
    srv_cpu=$(awk -v d="$((TREE_CPU - srv0))" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", d / hz}')
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    peak=$(cat "$RAW/$tag.$scenario.peak" 2>/dev/null || echo -)
    if ((round <= C1_ROUNDS)); then
      wrk -t1 -c1 -d"$C1_DURATION" --latency -s "$lua" "$URL" >"$RAW/$tag.$scenario.c1.txt" 2>&1 || note="${note:+$note; }wrk c1 failed"
      # The same, with wrk and every thread of the server on CPU 0: one request at a time then never has to
      # wake the other virtual CPU, so this shows the server's own latency without the VM's cross-core wake-up.
      tree_pids "$SERVER_PID"
      for p in "${PIDS[@]}"; do taskset -a -pc 0 "$p" >/dev/null 2>&1 || true; done
      taskset -c 0 wrk -t1 -c1 -d"$C1_DURATION" --latency -s "$lua" "$URL" >"$RAW/$tag.$scenario.c1core.txt" 2>&1 || note="${note:+$note; }wrk c1 (one core) failed"
      for p in "${PIDS[@]}"; do taskset -a -pc "0-$(($(nproc) - 1))" "$p" >/dev/null 2>&1 || true; done
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || note="${note:+$note; }server died"
    record "$name" "$round" "$scenario" "$note" "$idle" "$peak" "$other" "$srv_cpu" "$steal" "$load"
    sleep 1
  done
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

rounds_of() { # name -> how many rounds this target runs
  case $1 in
  bare | bare2 | bot) echo "$ROUNDS" ;;
  *) echo "$PEER_ROUNDS" ;;
  esac
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "rustc: $(rustc --version)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "node: $(node --version 2>/dev/null || echo -)"
  echo "python: $("$VENV/bin/python" --version 2>/dev/null || echo -); $("$VENV/bin/pip" list 2>/dev/null | grep -iE '^(slack.bolt|uvicorn|gunicorn) ' | tr -s ' ' | paste -sd, - || true)"
  echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "bolt-js: $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$JS_DIR/node_modules/@slack/bolt/package.json" 2>/dev/null | head -1)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# Round r runs every target that has an r-th round; every other round in the reverse order (ABBA).
MAX_ROUNDS=$ROUNDS
if ((PEER_ROUNDS > MAX_ROUNDS)); then MAX_ROUNDS=$PEER_ROUNDS; fi
read -r -a ORDER <<<"$TARGETS"
for ((r = 1; r <= MAX_ROUNDS; r++)); do
  if ((r % 2)); then seq_=("${ORDER[@]}"); else seq_=(); for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do seq_+=("${ORDER[i]}"); done; fi
  for t in "${seq_[@]}"; do
    if ((r <= $(rounds_of "$t"))); then run_target "$t" "$r"; fi
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

{
  echo "## Results"
  echo
  echo '```'
  cat "$OUT/machine.txt"
  echo "command: TARGETS=\"$TARGETS\" ROUNDS=$ROUNDS PEER_ROUNDS=$PEER_ROUNDS bash bench/run.sh   (wrk -t2 -c32 -d$DURATION --latency; wrk -t1 -c1 -d$C1_DURATION --latency in the first $C1_ROUNDS round(s))"
  echo '```'
  echo
} >"$OUT/header.md"
$BENCH_PY report "$OUT/results.tsv" "$RAW" "$OUT/table.md" >/dev/null
cat "$OUT/header.md" "$OUT/table.md" >"$OUT/results.md"
echo
cat "$OUT/results.md"
