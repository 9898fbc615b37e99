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
    "bare2": "bare axum ceiling again (A/A)",
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


def bad_count(run, scenario):
    """Socket errors, timeouts and wrong status codes of one wrk run."""
    sock = run["connect"] + run["read"] + run["write"] + run["timeout"]
    # wrk's "status" counts answers outside 2xx/3xx: all of them should be for `unsigned`.
    wrong = run["status"] if EXPECT[scenario] < 400 else run["requests"] - run["status"]
    return sock + wrong


def read_rows(tsv, raw):
    rows = []
    with open(tsv) as f:
        for line in f:
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t") + ["-"] * 10
            name, rnd, scenario, note, idle, peak, other, server_cpu, steal, load = fields[:10]
            tag = f"{name}.r{rnd}.{scenario}"
            c32 = read_bench(os.path.join(raw, f"{tag}.c32.txt"))
            c1 = read_bench(os.path.join(raw, f"{tag}.c1.txt"))
            c1core = read_bench(os.path.join(raw, f"{tag}.c1core.txt"))
            num = lambda v: float(v) if v not in ("-", "") else None  # noqa: E731
            r = {
                "name": name,
                "round": int(rnd),
                "scenario": scenario,
                "note": note,
                "idle": int(idle) if idle.isdigit() else None,
                "peak": int(peak) if peak.isdigit() else None,
                "other": num(other),
                "steal": num(steal),
                "load": num(load),
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
                r["bad"] = bad_count(c32, scenario)
                if server_cpu != "-" and c32["requests"]:
                    r["cpu_us"] = float(server_cpu) * 1e6 / c32["requests"]
            for key, run in (("c1p50", c1), ("c1core", c1core)):
                if run:
                    r[key] = run["p50_us"]
                    if r["bad"] is not None:
                        r["bad"] += bad_count(run, scenario)
            rows.append(r)
    return rows


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def values(runs, key):
    return [r[key] for r in runs if r[key] is not None]


def mann_whitney(xs, ys):
    """U (pairs x > y, ties ½) and the exact two-sided p-value of the permutation test, or None if too many."""
    from itertools import combinations
    from math import comb

    n, m = len(xs), len(ys)
    if not n or not m:
        return None, None
    u = sum((x > y) + 0.5 * (x == y) for x in xs for y in ys)
    if comb(n + m, n) > 200_000:
        return u, None
    pool = xs + ys
    centre = n * m / 2
    seen = extreme = 0
    for idx in combinations(range(n + m), n):
        chosen = set(idx)
        a = [pool[i] for i in idx]
        b = [pool[i] for i in range(n + m) if i not in chosen]
        ua = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
        seen += 1
        if abs(ua - centre) >= abs(u - centre) - 1e-9:
            extreme += 1
    return u, extreme / seen


def spread(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    if len(xs) == 1:
        return fmt(xs[0])
    return f"{fmt(median(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"


def fmt_rps(v):
    return f"{v:,.0f}"


def fmt_cpu(v):
    return f"{v:.1f} µs"


def fmt_pct(v):
    return f"{v:.0%}"


def cmd_report(tsv, raw, out):
    rows = read_rows(tsv, raw)
    names = []
    for r in rows:
        if r["name"] not in names:
            names.append(r["name"])

    def runs_of(name, scenario):
        return [r for r in rows if r["name"] == name and r["scenario"] == scenario]

    md = []
    scenarios = (
        ("help", "Signed `/revoke-role help` (200, the bot's fast path)"),
        ("unsigned", "Unsigned request (401)"),
    )
    for scenario, title in scenarios:
        if not any(r["scenario"] == scenario for r in rows):
            continue
        bare = median(values(runs_of("bare", scenario), "rps"))
        bot = median(values(runs_of("bot", scenario), "rps"))
        md.append(f"### {title}\n")
        md.append(
            "| target | runs | req/s (c32) | server CPU/req | p99 (c32) | p50 (c32) | p50 (c1) | p50 (c1, one core) | "
            "idle RSS | peak RSS | errors | ÷ bare ceiling | bot ÷ this | other CPU | steal | load | note |"
        )
        md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for name in names:
            runs = runs_of(name, scenario)
            if not runs:
                continue
            rps = median(values(runs, "rps"))
            bads = values(runs, "bad")
            peaks = values(runs, "peak")
            notes = sorted({r["note"] for r in runs if r["note"]})
            md.append(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                    LABELS.get(name, name),
                    len(values(runs, "rps")),
                    spread(values(runs, "rps"), fmt_rps),
                    spread(values(runs, "cpu_us"), fmt_cpu),
                    spread(values(runs, "p99"), fmt_us),
                    fmt_us(median(values(runs, "p50"))),
                    fmt_us(median(values(runs, "c1p50"))),
                    fmt_us(median(values(runs, "c1core"))),
                    fmt_mb(median(values(runs, "idle"))),
                    fmt_mb(max(peaks) if peaks else None),
                    sum(bads) if bads else "–",
                    f"{rps / bare:.0%}" if rps and bare else "–",
                    f"{bot / rps:.1f}×" if rps and bot and name not in ("bot", "bare", "bare2") else "–",
                    spread(values(runs, "other"), lambda v: f"{v:.2f}"),
                    spread(values(runs, "steal"), lambda v: f"{v:.2f}"),
                    spread(values(runs, "load"), lambda v: f"{v:.1f}"),
                    "; ".join(notes),
                )
            )
        md.append("")

    # Each Rust target against the ceiling, round by round: bot is the comparison that matters, bare2 (the
    # ceiling's own binary again) shows how far apart two identical servers land in this run.
    compared = [n for n in ("bot", "bare2") if n in names and "bare" in names]
    if compared:
        md.append("### Against the ceiling, same run\n")
        md.append(
            "Ratio of the medians; in brackets the min–max of the per-round ratios (round r of the target over "
            "round r of the ceiling). U: the Mann–Whitney count of pairs (target round, ceiling round) where the "
            "target's value is higher, out of runs × runs; p: the exact two-sided p of that test. p ≤ 0.05 means "
            "the run can tell the two apart; bare2 is the ceiling again, so its line shows the run's noise.\n"
        )
        md.append("| target | scenario | req/s | CPU/req | p99 |")
        md.append("|---|---|--:|--:|--:|")
        for name in compared:
            for scenario, _ in scenarios:
                t, c = runs_of(name, scenario), runs_of("bare", scenario)
                if not t or not c:
                    continue
                cells = []
                for key in ("rps", "cpu_us", "p99"):
                    tv, cv = values(t, key), values(c, key)
                    mt, mc = median(tv), median(cv)
                    if not mt or not mc:
                        cells.append("–")
                        continue
                    by_round = {r["round"]: r[key] for r in c if r[key]}
                    paired = [r[key] / by_round[r["round"]] for r in t if r[key] and r["round"] in by_round]
                    u, p = mann_whitney(tv, cv)
                    cell = f"{mt / mc:.0%}"
                    if len(paired) > 1:
                        cell += f" ({min(paired):.0%}–{max(paired):.0%})"
                    if p is not None and len(tv) > 1:
                        cell += f", U {u:g}/{len(tv) * len(cv)}, p {p:.3f}"
                    cells.append(cell)
                md.append(f"| {LABELS.get(name, name)} | {scenario} | {' | '.join(cells)} |")
        md.append("")

    if "bot" in names and "bare" in names:
        checks = []

        def med(name, scenario, key):
            return median(values(runs_of(name, scenario), key))

        for scenario, floor in (("help", 0.90), ("unsigned", 0.95)):
            b, c = med("bot", scenario, "rps"), med("bare", scenario, "rps")
            if b and c:
                checks.append((f"{scenario}: median req/s ≥ {floor:.0%} of the ceiling's: {b / c:.0%}", b / c >= floor))
            b, c = med("bot", scenario, "cpu_us"), med("bare", scenario, "cpu_us")
            if b and c:
                checks.append((
                    f"{scenario}: median CPU per request within 15 % of the ceiling's: {fmt_cpu(b)} vs {fmt_cpu(c)} "
                    f"({b / c - 1:+.0%})",
                    b <= 1.15 * c,
                ))
            b, c = med("bot", scenario, "p99"), med("bare", scenario, "p99")
            if b and c:
                checks.append((
                    f"{scenario}: median p99 within 1.2× the ceiling's: {fmt_us(b)} vs {fmt_us(c)} ({b / c:.2f}×)",
                    b <= 1.2 * c,
                ))
        idle = med("bot", "help", "idle")
        if idle is not None:
            checks.append((f"idle RSS ≤ 20 MB: {fmt_mb(idle)}", idle <= 20 * 1024))
        peaks = [r["peak"] for r in rows if r["name"] == "bot" and r["peak"] is not None]
        if peaks:
            checks.append((f"RSS under load ≤ 40 MB: {fmt_mb(max(peaks))}", max(peaks) <= 40 * 1024))
        bads = [r["bad"] for r in rows if r["name"] == "bot" and r["bad"] is not None]
        if bads:
            checks.append((f"no errors or wrong answers: {sum(bads)}", sum(bads) == 0))
        md.append("### revoke-role-bot against its targets\n")
        for text, ok in checks:
            md.append(f"- {'met' if ok else 'NOT met'}: {text}")
        md.append("")

    md.append(
        "runs: rounds measured (a fresh server process each); a cell with a range is the median (min–max) over "
        "them. c32: `wrk -t2 -c32` (2 threads, 32 keep-alive connections); c1: `wrk -t1 -c1` (one request at a "
        "time); c1, one core: the same with wrk and every server thread pinned to CPU 0 (`taskset`), so no request "
        "waits for the other virtual CPU to wake (both only in the first round(s), `C1_ROUNDS`). "
        "RSS: VmRSS summed over the server's process tree (gunicorn: master + 2 workers); idle = after its first "
        "two requests and 1 s of rest, peak = highest 100 ms sample during the c32 runs. errors: socket errors, "
        "timeouts and wrong status codes over all runs. server CPU/req: user + system CPU time of the server's "
        "process tree (/proc/PID/stat) during the c32 run, over the requests wrk completed. ÷ bare ceiling: median "
        "req/s over the bare ceiling's median in the same scenario; bot ÷ this: the bot's median req/s over this "
        "target's. other CPU: cores busy with anything but the server and wrk during the c32 run (other work on the "
        "machine; the machine has 2 cores in all). steal: cores the hypervisor gave to other tenants of the host "
        "during the c32 run (steal time in /proc/stat). load: the 1-minute load average as the c32 run started."
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
