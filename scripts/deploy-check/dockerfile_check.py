"""The config stays readable by the bot's runtime user in the image deploy/README.md builds.

The bot runs as uid 10001 (Dockerfile `USER`). COPY keeps a file's mode, so a config.toml written under
`umask 077` lands as 0600 root and the bot cannot read it (issue: the first deploy crash-looped). This
checks, without Docker:
- the runtime stage of Dockerfile runs as a non-root user and names the config path;
- every COPY/ADD of the config in deploy/config.Dockerfile sets --chmod with read for others (or
  --chown to the runtime user with owner read), and the file enables BuildKit syntax for --chmod;
- deploy/README.md builds the image from deploy/config.Dockerfile and never leaves `umask 077` set in
  the shell that writes config.toml (only in a subshell).

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


def runtime_user(steps):
    """The USER and ENV of the last stage."""
    last = max(i for i, (w, _) in enumerate(steps) if w == "FROM")
    user = next((a for w, a in reversed(steps[last:]) if w == "USER"), "root")
    env = " ".join(a for w, a in steps[last:] if w == "ENV")
    return user, env


def readable_by(flags, uid):
    """Whether COPY/ADD flags make the file readable by `uid` (not root)."""
    mode = next((f.split("=", 1)[1] for f in flags if f.startswith("--chmod=")), None)
    owner = next((f.split("=", 1)[1].split(":")[0] for f in flags if f.startswith("--chown=")), None)
    if mode is None or not re.fullmatch(r"0?[0-7]{3,4}", mode):
        return False
    bits = int(mode, 8)
    return bool(bits & 0o004) or (owner in (uid, "revoke-role-bot") and bool(bits & 0o400))


def main():
    base = instructions(REPO / "Dockerfile")
    user, env = runtime_user(base)
    uid = user.split(":")[0]
    check(uid not in ("root", "0", ""), f"Dockerfile: the bot runs as a non-root user ({user})")
    config_path = re.search(r"REVOKE_ROLE_BOT_CONFIG=(\S+)", env)
    check(config_path is not None, "Dockerfile: REVOKE_ROLE_BOT_CONFIG names the config path", env)
    config_path = config_path.group(1) if config_path else "/etc/revoke-role-bot/config.toml"

    derived_path = REPO / "deploy" / "config.Dockerfile"
    derived = instructions(derived_path)
    first_line = derived_path.read_text().splitlines()[0]
    check(first_line.startswith("# syntax=docker/dockerfile:1"),
          "deploy/config.Dockerfile: BuildKit syntax line (COPY --chmod needs it)", first_line)
    copies = []
    for word, args in base + derived:
        if word in ("COPY", "ADD"):
            parts = args.split()
            flags = [p for p in parts if p.startswith("--")]
            dest = [p for p in parts if not p.startswith("--")][-1]
            if dest == config_path or dest.rstrip("/") == str(Path(config_path).parent):
                copies.append((word, args, readable_by(flags, uid)))
    check(bool(copies), f"deploy/config.Dockerfile copies the config to {config_path}")
    for word, args, ok in copies:
        check(ok, f"{word} {args}: readable by uid {uid} whatever the file's mode",
              "add --chmod=0444 (or --chown=10001:10001 --chmod=0400)")

    readme = (REPO / "deploy" / "README.md").read_text()
    check("-f deploy/config.Dockerfile" in readme, "deploy/README.md builds the image with deploy/config.Dockerfile")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    bare_umask = [line for b in blocks for line in b.splitlines()
                  if "umask" in line and not re.match(r"\s*\(\s*umask\b", line)]
    check(not bare_umask, "deploy/README.md sets umask only in a subshell", "\n".join(bare_umask))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
