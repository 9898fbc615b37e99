"""The image carries no config, and names no config source of its own.

A deployment gives the bot its config as REVOKE_ROLE_BOT_CONFIG_TOML, from an SSM parameter (deploy/bot.yaml),
so that a config change needs no rebuild. The bot refuses to start when more than one config source is set, so
an image that set REVOKE_ROLE_BOT_CONFIG (as it once did, for a config baked in) would stop every task. This
checks, without Docker:
- the runtime stage of Dockerfile runs as a non-root user;
- it sets neither REVOKE_ROLE_BOT_CONFIG nor REVOKE_ROLE_BOT_CONFIG_TOML, and copies no config file;
- deploy/README.md puts the config into the parameter from a file, and never leaves `umask 077` set in the
  shell that writes files (only in a subshell).

Usage: python dockerfile_check.py
"""
import re
import sys
from pathlib import Path

from checks import check, failures

REPO = Path(__file__).resolve().parents[2]


def instructions(path):
    """(instruction, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def main():
    steps = instructions(REPO / "Dockerfile")
    last = max(i for i, (w, _) in enumerate(steps) if w == "FROM")
    runtime = steps[last:]
    user = next((a for w, a in reversed(runtime) if w == "USER"), "root")
    check(user.split(":")[0] not in ("root", "0", ""), f"Dockerfile: the bot runs as a non-root user ({user})")
    env = " ".join(a for w, a in runtime if w in ("ENV", "ARG"))
    check(not re.search(r"REVOKE_ROLE_BOT_CONFIG", env),
          "Dockerfile: the image names no config source (the task's REVOKE_ROLE_BOT_CONFIG_TOML must be the only one)",
          env)
    copies = [a for w, a in runtime if w in ("COPY", "ADD") and re.search(r"\.toml|/etc/revoke-role-bot", a)]
    check(not copies, "Dockerfile: no config copied into the image", "\n".join(copies))
    check(not (REPO / "deploy" / "config.Dockerfile").exists(),
          "no deploy/config.Dockerfile: the config comes from the SSM parameter, not a derived image")

    readme = (REPO / "deploy" / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    commands = "\n".join(blocks)
    check(re.search(r"aws ssm put-parameter[^`]*--value file://", commands) is not None,
          "deploy/README.md puts the config into the SSM parameter from a file (put-parameter --value file://)")
    bare_umask = [line for b in blocks for line in b.splitlines()
                  if "umask" in line and not re.match(r"\s*\(\s*umask\b", line)]
    check(not bare_umask, "deploy/README.md sets umask only in a subshell", "\n".join(bare_umask))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
