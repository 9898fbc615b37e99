# syntax=docker/dockerfile:1
# The image you deploy: the bot's image with your config baked in (deploy/README.md, step 3).
#
#   docker build -f deploy/config.Dockerfile --build-arg BASE=revoke-role-bot:base \
#     -t "$REPO:1" DIRECTORY_WITH_CONFIG_TOML
ARG BASE=revoke-role-bot:base
FROM ${BASE}
# --chmod: the bot runs as uid 10001 and must read the file whatever umask it was
# written with (COPY keeps the mode otherwise). It holds no secrets.
COPY --chmod=0444 config.toml /etc/revoke-role-bot/config.toml
