"""Helpers for bench/run.sh (Python 3 standard library only).

  bench.py port                                   print a free TCP port on 127.0.0.1
  bench.py lua SCENARIO OUT.lua                   write a wrk script for SCENARIO (help | unsigned), signed now
  bench.py check SCENARIO URL                     send one request, print "STATUS BODY", exit 1 if unexpected
  bench.py report RESULTS.tsv RAW_DIR OUT.md      print the results table and write it as markdown

The signing secret comes from SLACK_SIGNING_SECRET. Every target gets the same body: the shape of
../shared/bench/peers/send_signed.py with ids the bot accepts and `text=help` (the bot's fast path; the
peers acknowledge any text).
"""

import hashlib
import hmac
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BODY = urllib.parse.urlencode(
    {
        "token": "x",
        "team_id": "T0TEAM",
        "team_domain": "t",
        "channel_id": "C0INCIDENT",
        "channel_name": "ops",
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": "/revoke-role",
        "text": "help",
        "api_app_id": "A0APP",
        "response_url": "https://hooks.slack.com/commands/T0TEAM/1/x",
        "trigger_id": "1.2.3",
    }
)

# What each scenario must be answered with.
EXPECT = {"help": 200, "unsigned": 401}


def headers(scenario):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if scenario == "help":
        secret = os.environ["SLACK_SIGNING_SECRET"].encode()
        ts = str(int(time.time()))
        digest = hmac.new(secret, f"v0:{ts}:{BODY}".encode(), hashlib.sha256).hexdigest()
        h["X-Slack-Request-Timestamp"] = ts
        h["X-Slack-Signature"] = f"v0={digest}"
    elif scenario != "unsigned":
        sys.exit(f"unknown scenario {scenario}")
    return h


def lua_str(s):
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal for this ASCII text


DONE = r"""
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def cmd_lua(scenario, out):
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_str(BODY)}"]
    for k, v in headers(scenario).items():
        lines.append(f"wrk.headers[{lua_str(k)}] = {lua_str(v)}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n" + DONE)


def cmd_check(scenario, url):
    req = urllib.request.Request(url, data=BODY.encode(), method="POST", headers=headers(scenario))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, body = r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode(errors="replace")
    print(status, body[:200].replace("\n", " "))
    return 0 if status == EXPECT[scenario] else 1


def cmd_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


# ---- report ----

LABELS = {
    "bare": "bare axum ceiling (HMAC + form + JSON)",
    "bot": "revoke-role-bot (real router, in-memory store)",
    "bolt-js": "Bolt for JS, HTTPReceiver",
    "bolt-py-uvicorn": "Bolt for Python, AsyncApp on uvicorn",
    "bolt-py-gunicorn": "Bolt for Python, App on gunicorn (2 sync workers)",
}


def fmt_us(us):
    if us is None:
        return "–"
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1_000_000:.2f} s"


def fmt_mb(kb):
    return "–" if kb is None else f"{kb / 1024:.1f} MB"


def read_bench(path):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("BENCHJSON "):
                    return json.loads(line[len("BENCHJSON "):])
    except FileNotFoundError:
        pass
    return None


def cmd_report(tsv, raw, out):
    rows = []
    with open(tsv) as f:
        for line in f:
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            name, scenario, note, idle, peak, other = fields[:6]
            server_cpu = fields[6] if len(fields) > 6 else "-"
            steal = fields[7] if len(fields) > 7 else "-"
            c32 = read_bench(os.path.join(raw, f"{name}.{scenario}.c32.txt"))
            c1 = read_bench(os.path.join(raw, f"{name}.{scenario}.c1.txt"))
            c1core = read_bench(os.path.join(raw, f"{name}.{scenario}.c1core.txt"))
            r = {
                "name": name,
                "scenario": scenario,
                "note": note,
                "idle": int(idle) if idle.isdigit() else None,
                "peak": int(peak) if peak.isdigit() else None,
                "other": other,
                "steal": steal,
                "rps": None,
                "p50": None,
                "p99": None,
                "c1p50": None,
                "c1core": None,
                "bad": None,
                "cpu_us": None,
            }
            if c32:
                r["rps"] = c32["requests"] / (c32["duration_us"] / 1e6)
                r["p50"], r["p99"] = c32["p50_us"], c32["p99_us"]
                sock = c32["connect"] + c32["read"] + c32["write"] + c32["timeout"]
                # wrk's "status" counts answers outside 2xx/3xx: all of them should be for `unsigned`.
                wrong = c32["status"] if EXPECT[scenario] < 400 else c32["requests"] - c32["status"]
                r["bad"] = sock + wrong
                if server_cpu != "-" and c32["requests"]:
                    r["cpu_us"] = float(server_cpu) * 1e6 / c32["requests"]
            if c1core:
                r["c1core"] = c1core["p50_us"]
                if r["bad"] is not None:
                    wrong = c1core["status"] if EXPECT[scenario] < 400 else c1core["requests"] - c1core["status"]
                    r["bad"] += c1core["connect"] + c1core["read"] + c1core["write"] + c1core["timeout"] + wrong
            if c1:
                r["c1p50"] = c1["p50_us"]
                if r["bad"] is not None:
                    wrong = c1["status"] if EXPECT[scenario] < 400 else c1["requests"] - c1["status"]
                    r["bad"] += c1["connect"] + c1["read"] + c1["write"] + c1["timeout"] + wrong
            rows.append(r)

    md = []
    for scenario, title in (
        ("help", "Signed `/revoke-role help` (200, the bot's fast path)"),
        ("unsigned", "Unsigned request (401)"),
    ):
        sr = [r for r in rows if r["scenario"] == scenario]
        if not sr:
            continue
        bare = next((r["rps"] for r in sr if r["name"] == "bare"), None)
        bot = next((r["rps"] for r in sr if r["name"] == "bot"), None)
        md.append(f"### {title}\n")
        md.append(
            "| target | req/s (c32) | p50 (c32) | p99 (c32) | p50 (c1) | p50 (c1, one core) | idle RSS | peak RSS | "
            "server CPU/req | errors | ÷ bare ceiling | bot ÷ this | other CPU | steal | note |"
        )
        md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for r in sr:
            rps = r["rps"]
            md.append(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                    LABELS.get(r["name"], r["name"]),
                    "–" if rps is None else f"{rps:,.0f}",
                    fmt_us(r["p50"]),
                    fmt_us(r["p99"]),
                    fmt_us(r["c1p50"]),
                    fmt_us(r["c1core"]),
                    fmt_mb(r["idle"]),
                    fmt_mb(r["peak"]),
                    "–" if r["cpu_us"] is None else f"{r['cpu_us']:.1f} µs",
                    "–" if r["bad"] is None else r["bad"],
                    f"{rps / bare:.0%}" if rps and bare else "–",
                    f"{bot / rps:.1f}×" if rps and bot and r["name"] not in ("bot", "bare") else "–",
                    r["other"] if r["other"] != "-" else "–",
                    r["steal"] if r["steal"] != "-" else "–",
                    r["note"],
                )
            )
        md.append("")

    bot = next((r for r in rows if r["name"] == "bot" and r["scenario"] == "help"), None)
    bare = next((r for r in rows if r["name"] == "bare" and r["scenario"] == "help"), None)
    if bot and bot["rps"]:
        checks = []
        if bare and bare["rps"]:
            share = bot["rps"] / bare["rps"]
            checks.append((f"req/s ≥ 70% of the bare ceiling in the same run: {share:.0%}", share >= 0.70))
        if bot["p99"] is not None:
            checks.append((f"p99 ≤ 2 ms at 32 connections: {fmt_us(bot['p99'])}", bot["p99"] <= 2000))
        if bot["c1p50"] is not None:
            checks.append((f"p50 ≤ 100 µs one request at a time: {fmt_us(bot['c1p50'])}", bot["c1p50"] <= 100))
        if bot["c1core"] is not None:
            checks.append((
                f"p50 ≤ 100 µs one request at a time, wrk and the server on one core: {fmt_us(bot['c1core'])}",
                bot["c1core"] <= 100,
            ))
        # The issue set 2 ms and 100 µs where its bare ceiling measured about 1 ms and 50 µs: twice the ceiling.
        # On a slower machine the same margin is twice this run's ceiling.
        for key, what in (
            ("p99", "p99 within twice the ceiling's in this run (the issue's 2 ms over its ~1 ms ceiling)"),
            ("c1p50", "p50 one at a time within twice the ceiling's in this run (the issue's 100 µs over its ~50 µs)"),
        ):
            if bare and bot[key] is not None and bare[key] is not None:
                limit = 2 * bare[key]
                checks.append((f"{what}: {fmt_us(bot[key])} ≤ {fmt_us(limit)}", bot[key] <= limit))
        if bot["idle"] is not None:
            checks.append((f"idle RSS ≤ 20 MB: {fmt_mb(bot['idle'])}", bot["idle"] <= 20 * 1024))
        peak = max((r["peak"] for r in rows if r["name"] == "bot" and r["peak"] is not None), default=None)
        if peak is not None:
            checks.append((f"RSS under load ≤ 40 MB: {fmt_mb(peak)}", peak <= 40 * 1024))
        if bot["bad"] is not None:
            checks.append((f"no errors or wrong answers: {bot['bad']}", bot["bad"] == 0))
        md.append("### revoke-role-bot against its targets (help scenario)\n")
        for text, ok in checks:
            md.append(f"- {'met' if ok else 'NOT met'}: {text}")
        md.append("")

    md.append(
        "c32: `wrk -t2 -c32` (2 threads, 32 keep-alive connections); c1: `wrk -t1 -c1` (one request at a time); "
        "c1, one core: the same with wrk and every server thread pinned to CPU 0 (`taskset`), so no request waits for "
        "the other virtual CPU to wake. "
        "RSS: VmRSS summed over the server's process tree (gunicorn: master + 2 workers); idle = after its first "
        "two requests and 1 s of rest, peak = highest 100 ms sample during the c32 run. errors: socket errors, "
        "timeouts and wrong status codes over both runs. server CPU/req: user + system CPU time of the server's "
        "process tree during the c32 run, over the requests wrk completed. ÷ bare ceiling: req/s over the bare ceiling's in the same "
        "scenario; bot ÷ this: the bot's req/s over this target's. other CPU: cores busy with anything but the "
        "server and wrk during the c32 run (other work on the machine; the machine has 2 cores in all). steal: cores "
        "the hypervisor gave to other tenants of the host during the c32 run (steal time in /proc/stat)."
    )
    md.append("")
    text = "\n".join(md)
    with open(out, "w") as f:
        f.write(text + "\n")
    print(text)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "port":
        cmd_port()
    elif cmd == "lua" and len(argv) == 4:
        cmd_lua(argv[2], argv[3])
    elif cmd == "check" and len(argv) == 4:
        return cmd_check(argv[2], argv[3])
    elif cmd == "report" and len(argv) == 5:
        cmd_report(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
