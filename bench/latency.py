"""Latency a person feels (issue 14 part 1), against the real server with AWS latency injected.

The emulators (moto for IAM and STS, DynamoDB Local for DynamoDB, or moto's own DynamoDB when no
--ddb-port is given) sit behind two delaying HTTP proxies: every IAM and STS call takes
IAM_DELAY_MS more (150 ms by default), every DynamoDB call DDB_DELAY_MS more (10 ms), as against a
real region. The release binary runs `revoke-role-bot serve` with the standard AWS endpoint
variables pointed at the proxies and SLACK_API_URL at a fake Slack here that records every call
with the time it arrived. Each round, one after the other:

  (a) a signed `/revoke-role prod/<role> <reason>` -> the `chat.postMessage` of the approval card;
  (b) a signed approving click -> the `chat.update` that shows "Applied and verified", and the
      moment the request item reached `applied` (the proxy's answer to the `TransactWriteItems`
      that wrote it, i.e. after DynamoDB accepted it).

Both start just before the request is written to the server's socket. The proxies log every AWS
call with its start and end, so each round also counts the IAM calls on the path and how many of
them ran one after the other (overlapping calls are one round trip).

Usage (bench/latency.sh sets this up): python bench/latency.py --bin target/release/revoke-role-bot \
    --moto-port PORT [--ddb-port PORT] [--rounds N] [--out target/bench]
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

SECRET = "bench-secret"
ACCOUNT = "123456789012"  # moto's default account
CHANNEL = "C0BENCH"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- minimal HTTP/1.1 framing


async def read_head(reader):
    """The start line and headers of one message, or None at a clean end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
    return lines[0], headers


def header(headers, name):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def read_body(reader, headers, until_eof=False):
    """The body as framed by Content-Length, chunked encoding or (responses) the end of stream;
    returned with its framing as raw bytes, and decoded."""
    te = (header(headers, "transfer-encoding") or "").lower()
    if "chunked" in te:
        raw, data = b"", b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            raw += size_line
            size = int(size_line.split(b";")[0].strip(), 16)
            chunk = await reader.readexactly(size + 2)
            raw += chunk
            data += chunk[:-2]
            if size == 0:
                # trailers end with an empty line; we sent none and expect none
                return raw, data
    length = header(headers, "content-length")
    if length is not None:
        data = await reader.readexactly(int(length))
        return data, data
    if until_eof:
        data = await reader.read()
        return data, data
    return b"", b""


def encode_head(start, headers):
    return (start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")


# ---------------------------------------------------------------- the delaying proxy


class DelayProxy:
    """Forwards each request to an emulator; half the delay before, half after (a round trip's two legs).
    Every call is logged: service, action, start, end, and the body for later matching."""

    def __init__(self, name, delay_s, upstream_port, log):
        self.name, self.delay, self.upstream_port, self.log = name, delay_s, upstream_port, log

    async def handle(self, reader, writer):
        up_reader = up_writer = None
        try:
            while True:
                got = await read_head(reader)
                if got is None:
                    break
                start, headers = got
                t_in = time.time()
                if (header(headers, "expect") or "").lower() == "100-continue":
                    headers = [(k, v) for k, v in headers if k.lower() != "expect"]
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await writer.drain()
                raw_body, body = await read_body(reader, headers)
                target = header(headers, "x-amz-target")
                if target:
                    action = target.rsplit(".", 1)[-1]
                else:
                    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                    action = form.get("Action", ["?"])[0]
                await asyncio.sleep(self.delay / 2)
                if up_writer is None:
                    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                up_writer.write(encode_head(start, headers) + raw_body)
                await up_writer.drain()
                resp = await read_head(up_reader)
                if resp is None:
                    raise ConnectionError("the emulator closed the connection")
                rstart, rheaders = resp
                raw_resp, _ = await read_body(up_reader, rheaders, until_eof=header(rheaders, "content-length") is None
                                              and "chunked" not in (header(rheaders, "transfer-encoding") or "").lower())
                t_done = time.time()
                await asyncio.sleep(self.delay / 2)
                writer.write(encode_head(rstart, rheaders) + raw_resp)
                await writer.drain()
                t_out = time.time()
                self.log.append(
                    {
                        "service": self.name,
                        "action": action,
                        "start": t_in,
                        "upstream_done": t_done,
                        "end": t_out,
                        "status": rstart.split(" ")[1] if " " in rstart else "?",
                        "body": body.decode("utf-8", "replace"),
                    }
                )
                if (header(rheaders, "connection") or "").lower() == "close":
                    up_writer.close()
                    up_reader = up_writer = None
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.close()


# ---------------------------------------------------------------- the fake Slack


class FakeSlack:
    """Accepts chat.postMessage, chat.update and response_url posts; records each with the time
    its request head arrived."""

    def __init__(self, delay_s=0.0):
        self.delay = delay_s
        self.calls = []
        self.changed = asyncio.Event()
        self.ts = 0

    async def handle(self, reader, writer):
        try:
            while True:
                got = await read_head(reader)
                if got is None:
                    break
                t = time.time()
                start, headers = got
                _, body = await read_body(reader, headers)
                path = start.split(" ")[1]
                text = body.decode("utf-8", "replace")
                try:
                    parsed = json.loads(text) if text.startswith("{") else dict(urllib.parse.parse_qsl(text))
                except ValueError:
                    parsed = {}
                call = {"path": path, "at": t, "body": parsed, "raw": text}
                self.calls.append(call)
                if path.endswith("/chat.postMessage"):
                    self.ts += 1
                    ts = f"1700000000.{self.ts:06d}"
                    answer = {"ok": True, "channel": CHANNEL, "ts": ts, "message": {"ts": ts, "text": "card"}}
                elif path.endswith("/chat.update"):
                    answer = {"ok": True, "channel": CHANNEL, "ts": parsed.get("ts", "1.1"), "message": {"text": "card"}}
                elif path.startswith("/respond/"):
                    answer = None
                else:
                    answer = {"ok": False, "error": "unknown_method"}
                data = b"ok" if answer is None else json.dumps(answer).encode()
                ctype = "text/plain" if answer is None else "application/json; charset=utf-8"
                if self.delay:
                    await asyncio.sleep(self.delay)
                call["answered"] = time.time()
                writer.write(encode_head("HTTP/1.1 200 OK", [("Content-Type", ctype), ("Content-Length", str(len(data)))]) + data)
                await writer.drain()
                self.changed.set()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def wait_for(self, pred, timeout=60.0):
        deadline = time.monotonic() + timeout
        while True:
            for c in self.calls:
                if pred(c):
                    return c
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the fake Slack never saw the expected call")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass


# ---------------------------------------------------------------- the client


def sign(ts, body):
    mac = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return "v0=" + mac


async def post_signed(port, path, body):
    """POST a signed Slack request; returns the time just before it was written, and the status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ts = str(int(time.time()))
    head = encode_head(
        f"POST {path} HTTP/1.1",
        [
            ("Host", f"127.0.0.1:{port}"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Slack-Request-Timestamp", ts),
            ("X-Slack-Signature", sign(ts, body)),
            ("Content-Length", str(len(body.encode()))),
            ("Connection", "close"),
        ],
    )
    sent = time.time()
    writer.write(head + body.encode())
    await writer.drain()
    got = await read_head(reader)
    writer.close()
    status = int(got[0].split(" ")[1]) if got else 0
    return sent, status


# ---------------------------------------------------------------- analysis


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = round((len(sorted_values) - 1) * p)
    return sorted_values[min(i, len(sorted_values) - 1)]


def chain_depth(calls):
    """The longest run of calls each starting after the previous one ended: the round trips that
    were made one after the other (greedy by earliest end gives the longest such chain)."""
    depth, free_at = 0, float("-inf")
    for c in sorted(calls, key=lambda c: c["end"]):
        if c["start"] >= free_at:
            depth, free_at = depth + 1, c["end"]
    return depth


def describe_path(calls, t0, t_end):
    """The AWS calls that started in [t0, t_end], as waves with their offsets in ms."""
    inside = [c for c in calls if t0 <= c["start"] <= t_end]
    iam = [c for c in inside if c["service"] == "iam"]
    ddb = [c for c in inside if c["service"] == "dynamodb"]
    return inside, iam, ddb


def launched_together(calls, within=0.005):
    """Calls grouped by when they were sent: a call sent within 5 ms of a group's first joins it."""
    groups = []
    for c in sorted(calls, key=lambda c: c["start"]):
        if groups and c["start"] - groups[-1][0]["start"] <= within:
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def fmt_waves(groups, t0):
    return " → ".join(
        "[" + " ‖ ".join(f"{c['action']} {1000 * (c['start'] - t0):.0f}–{1000 * (c['end'] - t0):.0f}" for c in g) + "]"
        for g in groups
    )


def slack_calls(slack, t0, t_end):
    """The fake Slack's calls in the window, shaped like the proxy's log entries."""
    out = []
    for c in slack.calls:
        if t0 <= c["at"] < t_end:
            what = c["path"].rsplit("/", 1)[-1] if not c["path"].startswith("/respond/") else "response_url"
            if what == "chat.postMessage" and "thread_ts" in c["body"]:
                what += " (thread)"
            elif what == "chat.postMessage" and str(c["body"].get("channel", "")).startswith("U"):
                what += " (DM)"
            out.append({"service": "slack", "action": what, "start": c["at"], "end": c.get("answered", c["at"])})
    return out


def timeline(inside, t0):
    return "\n".join(
        f"    {1000 * (c['start'] - t0):7.1f} → {1000 * (c['end'] - t0):7.1f} ms  {c['service']:8} {c['action']}"
        for c in sorted(inside, key=lambda c: c["start"])
    )


# ---------------------------------------------------------------- the run


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--moto-port", type=int, required=True, help="moto_server: IAM and STS")
    ap.add_argument("--ddb-port", type=int, help="DynamoDB (DynamoDB Local); moto's own when not given")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "30")))
    ap.add_argument("--iam-ms", type=float, default=float(os.environ.get("IAM_DELAY_MS", "150")))
    ap.add_argument("--ddb-ms", type=float, default=float(os.environ.get("DDB_DELAY_MS", "10")))
    ap.add_argument("--think-ms", type=float, default=float(os.environ.get("THINK_MS", "1000")),
                    help="pause between the card and the click, as a person takes")
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("WARMUP", "1")),
                    help="rounds run first and not counted (connections, the emulators' first calls)")
    ap.add_argument("--slack-ms", type=float, default=float(os.environ.get("SLACK_DELAY_MS", "0")),
                    help="how long the fake Slack takes to answer each call (0: at once)")
    ap.add_argument("--out", default="target/bench")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    import boto3  # moto's own dependency, in the same venv

    def loadavg():
        with open("/proc/loadavg") as f:
            return f.read().split()[0]

    load_start = loadavg()

    moto = f"http://127.0.0.1:{args.moto_port}"
    ddb_port = args.ddb_port or args.moto_port
    dynamodb = f"http://127.0.0.1:{ddb_port}"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    iam = session.client("iam", endpoint_url=moto)
    ddb = session.client("dynamodb", endpoint_url=dynamodb)

    log = []
    slack = FakeSlack(args.slack_ms / 1000)
    iam_proxy = DelayProxy("iam", args.iam_ms / 1000, args.moto_port, log)
    ddb_proxy = DelayProxy("dynamodb", args.ddb_ms / 1000, ddb_port, log)
    servers = [
        await asyncio.start_server(iam_proxy.handle, "127.0.0.1", 0),
        await asyncio.start_server(ddb_proxy.handle, "127.0.0.1", 0),
        await asyncio.start_server(slack.handle, "127.0.0.1", 0),
    ]
    iam_proxy_port, ddb_proxy_port, slack_port = (s.sockets[0].getsockname()[1] for s in servers)
    slack_url = f"http://127.0.0.1:{slack_port}"

    suffix = str(int(time.time() * 1000))
    table = f"latency-{suffix}"
    listen = free_port()
    work = tempfile.mkdtemp(prefix="latency-")
    config = os.path.join(work, "bot.toml")
    with open(config, "w") as f:
        f.write(
            f'listen = "127.0.0.1:{listen}"\n[audit]\ntable = "{table}"\n'
            '[access]\nrequesters = ["U0ALICE"]\napprovers = ["U0BOB"]\n'
            '[roles]\nallow = ["arn:aws:iam::*:role/*"]\n'
            f'[[accounts]]\nid = "{ACCOUNT}"\nname = "prod"\n'
        )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SLACK_")) and k not in ("RUST_LOG", "REVOKE_ROLE_BOT_CONFIG")
    }
    for name in ("config", "credentials"):
        open(os.path.join(work, name), "w").close()
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.path.join(work, "config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, "credentials"),
    )
    # The table is made directly, without the injected latency.
    made = subprocess.run([args.bin, "create-table", "--config", config], env={**env, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb},
                          capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(f"create-table failed: {made.stdout}{made.stderr}")

    # One role per round, each with an inline policy (as most real roles have), so the preview
    # reads its policies: ListRolePolicies, then GetRolePolicy for each.
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    inline = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    roles = []
    for i in range(args.warmup + args.rounds):
        name = f"latency-{suffix}-{i}"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=name, PolicyName="app", PolicyDocument=inline)
        roles.append(name)

    serve_env = dict(env)
    serve_env.update(
        AWS_ENDPOINT_URL_IAM=f"http://127.0.0.1:{iam_proxy_port}",
        AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{iam_proxy_port}",
        AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{ddb_proxy_port}",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_API_URL=slack_url,
    )
    server_log = open(os.path.join(args.out, "latency-server.log"), "w")
    bot = subprocess.Popen([args.bin, "serve", "--config", config], env=serve_env, stdout=server_log, stderr=subprocess.STDOUT)
    figures = {"card": [], "update": [], "applied": []}
    paths = []
    try:
        deadline = time.monotonic() + 30
        while True:
            if bot.poll() is not None:
                sys.exit(f"the server exited ({bot.returncode}); see {server_log.name}")
            try:
                r, w = await asyncio.open_connection("127.0.0.1", listen)
                w.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                await w.drain()
                if (await r.read()).startswith(b"HTTP/1.1 200"):
                    w.close()
                    break
                w.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("the server did not answer /healthz within 30 s")
            await asyncio.sleep(0.05)
        startup_calls = len(log)
        if not any(c["service"] == "iam" and c["action"] == "GetCallerIdentity" for c in log):
            sys.exit("the server's STS call did not go through the IAM/STS proxy: is AWS_ENDPOINT_URL_STS honoured?")
        await asyncio.sleep(0.5)

        for i, role in enumerate(roles):
            body = urllib.parse.urlencode(
                {
                    "token": "legacy",
                    "team_id": "T0TEAM",
                    "command": "/revoke-role",
                    "text": f"prod/{role} LATENCY-{i}",
                    "user_id": "U0ALICE",
                    "channel_id": CHANNEL,
                    "response_url": f"{slack_url}/respond/alice-{i}",
                    "trigger_id": f"latency.{suffix}.{i}",
                }
            )
            t0, status = await post_signed(listen, "/slack/commands", body)
            if status != 200:
                sys.exit(f"round {i}: the command was answered {status}")
            card = await slack.wait_for(
                lambda c: c["path"].endswith("/chat.postMessage") and role in c["raw"] and "thread_ts" not in c["body"]
                and any(b.get("type") == "actions" for b in c["body"].get("blocks", []) if isinstance(b, dict))
            )
            request_id = next(
                b["elements"][0]["value"] for b in card["body"].get("blocks", []) if b.get("type") == "actions"
            )
            # Let the card's follow-up work (its reference stored, the requester told) finish, as a
            # person takes a moment to read the card before clicking.
            await asyncio.sleep(args.think_ms / 1000)
            payload = json.dumps(
                {
                    "type": "block_actions",
                    "user": {"id": "U0BOB", "username": "bob"},
                    "team": {"id": "T0TEAM"},
                    "channel": {"id": CHANNEL},
                    "container": {"type": "message", "message_ts": "1700000000.000001"},
                    "actions": [{"action_id": "approve", "value": request_id, "type": "button", "block_id": "b"}],
                    "response_url": f"{slack_url}/respond/bob-{i}",
                    "trigger_id": "1.2.3",
                }
            )
            t1, status = await post_signed(listen, "/slack/interactions", urllib.parse.urlencode({"payload": payload}))
            if status != 200:
                sys.exit(f"round {i}: the click was answered {status}")
            update = await slack.wait_for(
                lambda c: c["path"].endswith("/chat.update") and request_id in c["raw"] and "Applied and verified" in c["raw"]
            )
            applied_pattern = re.compile(r'":s"\s*:\s*\{\s*"S"\s*:\s*"applied"')
            applied = next(
                (c for c in log if c["service"] == "dynamodb" and c["action"] == "TransactWriteItems"
                 and request_id in c["body"] and applied_pattern.search(c["body"]) and c["status"] == "200"),
                None,
            )
            if applied is None:
                sys.exit(f"round {i}: no successful TransactWriteItems took {request_id} to applied")
            # Cross-check in the table itself (read directly from moto, after the round).
            item = ddb.get_item(TableName=table, Key={"pk": {"S": f"REQ#{request_id}"}, "sk": {"S": "REQ"}}, ConsistentRead=True).get("Item")
            if not item or item.get("state", {}).get("S") != "applied":
                sys.exit(f"round {i}: the request item is not applied: {item}")
            events = ddb.query(
                TableName=table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
                ExpressionAttributeValues={":pk": {"S": f"REQ#{request_id}"}, ":e": {"S": "EVT#"}},
                ConsistentRead=True,
            )["Items"]
            counted = i >= args.warmup
            print(
                f"{'round' if counted else 'warm-up'} {i:3}: card {1000 * (card['at'] - t0):6.1f} ms"
                f"   verified card {1000 * (update['at'] - t1):6.1f} ms"
                f"   item applied {1000 * (applied['upstream_done'] - t1):6.1f} ms   ({len(events)} events)",
                flush=True,
            )
            await asyncio.sleep(0.3)
            if not counted:
                continue
            figures["card"].append(card["at"] - t0)
            figures["update"].append(update["at"] - t1)
            figures["applied"].append(applied["upstream_done"] - t1)
            paths.append((i, request_id, t0, card["at"], t1, update["at"], applied["upstream_done"]))
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()
        server_log.close()
        for s in servers:
            s.close()
        shutil.rmtree(work, ignore_errors=True)

    # ---- the report
    load_end = loadavg()
    with open(os.path.join(args.out, "latency-calls.jsonl"), "w") as f:
        for c in log:
            f.write(json.dumps({k: v for k, v in c.items() if k != "body"}) + "\n")

    def row(name, values):
        v = sorted(values)
        p50, p90, mx = (1000 * percentile(v, 0.5), 1000 * percentile(v, 0.9), 1000 * v[-1])
        return f"| {name} | {len(v)} | {p50:.0f} | {p90:.0f} | {mx:.0f} | {p50 / args.iam_ms:.2f} |"

    # Per round: the IAM calls on each path and how many ran one after the other.
    card_waves, card_ddb, card_iam_calls, verify_waves, verify_ddb, verify_iam_calls = [], [], [], [], [], []
    for (_, _, t0, t_card, t1, t_update, _) in paths:
        _, iam_calls, ddb_calls = describe_path(log, t0, t_card)
        card_waves.append(chain_depth(iam_calls))
        card_ddb.append(chain_depth(ddb_calls))
        card_iam_calls.append(len(iam_calls))
        _, iam_calls, ddb_calls = describe_path(log, t1, t_update)
        verify_waves.append(chain_depth(iam_calls))
        verify_ddb.append(chain_depth(ddb_calls))
        verify_iam_calls.append(len(iam_calls))

    # Which calls each path made, as "action, action, ..." in start order, and in how many rounds.
    def sequences(window):
        seen = {}
        for p in paths:
            t_start, t_end = window(p)
            inside, _, _ = describe_path(log, t_start, t_end)
            inside += slack_calls(slack, t_start, t_end)
            key = " → ".join(
                " ‖ ".join(sorted(f"{c['service']}:{c['action']}" for c in g)) for g in launched_together(inside)
            )
            seen[key] = seen.get(key, 0) + 1
        return sorted(seen.items(), key=lambda kv: -kv[1])

    def spread(xs):
        return str(min(xs)) if min(xs) == max(xs) else f"{min(xs)}–{max(xs)}"

    def own(service):
        # What the emulator itself took: the call's whole time at the proxy, less the injected delay.
        delay = (args.iam_ms if service == "iam" else args.ddb_ms) / 1000
        v = sorted(c["end"] - c["start"] - delay for c in log if c["service"] == service)
        return f"p50 {1000 * percentile(v, 0.5):.1f} ms, p90 {1000 * percentile(v, 0.9):.1f} ms over {len(v)} calls"

    print()
    print(f"Load average (1 min) at the start and the end: {load_start} and {load_end} on {os.cpu_count()} CPUs.")
    print(f"IAM/STS on moto, DynamoDB on {'DynamoDB Local' if args.ddb_port else 'moto'}.")
    print(f"Injected: IAM/STS +{args.iam_ms:.0f} ms a call, DynamoDB +{args.ddb_ms:.0f} ms a call (half before the emulator, half after);"
          f" the fake Slack answers after {args.slack_ms:.0f} ms.")
    print(f"The emulators' own time per call (the proxy's time for it less the injected delay): IAM/STS {own('iam')};"
          f" DynamoDB {own('dynamodb')}.")
    print(f"{len(paths)} rounds (after {args.warmup} warm-up), one at a time; the server made {startup_calls} AWS calls while starting.")
    print()
    print(f"| measured (ms) | n | p50 | p90 | max | p50 ÷ {args.iam_ms:.0f} ms |")
    print("|---|--:|--:|--:|--:|--:|")
    print(row("(a) command → `chat.postMessage` of the card", figures["card"]))
    print(row("(b) approving click → `chat.update` \"Applied and verified\"", figures["update"]))
    print(row("(b) approving click → request item `applied` (DynamoDB accepted the write)", figures["applied"]))
    print()
    print("Sequential round trips seen by the proxy (the longest chain of calls each starting after the previous ended), per round:")
    print(f"  (a) card:     IAM {spread(card_waves)} (of {spread(card_iam_calls)} IAM calls), DynamoDB {spread(card_ddb)}")
    print(f"  (b) verified: IAM {spread(verify_waves)} (of {spread(verify_iam_calls)} IAM calls), DynamoDB {spread(verify_ddb)}")
    print("AWS calls on each path, grouped by when they were sent (‖: sent together, →: after):")
    for name, window in (("(a)", lambda p: (p[2], p[3])), ("(b)", lambda p: (p[4], p[5]))):
        for key, count in sequences(window):
            print(f"  {name} in {count} round(s): {key}")
    mid = sorted(paths, key=lambda p: p[5] - p[4])[len(paths) // 2]
    i, rid, t0, t_card, t1, t_update, t_applied = mid
    inside, iam_calls, _ = describe_path(log, t0, t_card)
    inside += slack_calls(slack, t0, t_card)
    print()
    print(f"The median round (round {i}, {rid}), every AWS call with its start and end after the command:")
    print(timeline(inside, t0))
    print(f"    {1000 * (t_card - t0):7.1f}            slack    chat.postMessage (the card)")
    print(f"  IAM calls, grouped by when they were sent: {fmt_waves(launched_together(iam_calls), t0)}")
    inside, iam_calls, _ = describe_path(log, t1, t_update)
    inside += slack_calls(slack, t1, t_update)
    print(f"...and after the approving click:")
    print(timeline(inside, t1))
    print(f"    {1000 * (t_applied - t1):7.1f}            dynamodb the request item is `applied`")
    print(f"    {1000 * (t_update - t1):7.1f}            slack    chat.update \"Applied and verified\"")
    print(f"  IAM calls, grouped by when they were sent: {fmt_waves(launched_together(iam_calls), t1)}")
    bad = [n for n, lim in (("card", 2), ("verified", 3)) if max(card_waves if n == "card" else verify_waves) > lim]
    print()
    if bad:
        print(f"MORE sequential IAM round trips than the design's 2 (card) / 3 (verified policy) on: {', '.join(bad)}")
    else:
        print("Within the design: at most 2 sequential IAM round trips before the card, 3 before the verified policy.")


if __name__ == "__main__":
    asyncio.run(main())
