# syntax=docker/dockerfile:1

# Build stage. The tag is pinned to the toolchain in rust-toolchain.toml so that
# rustup finds the requested toolchain already installed.
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /build

# Compile the dependencies on their own first: this layer is reused as long as
# Cargo.toml, Cargo.lock and rust-toolchain.toml do not change, so editing src/
# rebuilds only the crate itself.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

COPY src ./src
# COPY keeps the files' original timestamps, which can be older than the dummy
# build above; touch them so cargo sees the real sources as changed.
RUN find src -type f -exec touch {} + \
    && cargo build --release --locked

# Runtime stage: the binary, the CA bundle for TLS to Slack and AWS, nothing else.
# The image has no curl or wget: `revoke-role-bot health` asks the running bot's
# /readyz on its configured listen port and exits 0 only when it is ready. The ECS
# task definition in deploy/bot.yaml uses the same command as its health check.
FROM debian:bookworm-slim

# ca-certificates is left unpinned on purpose: the newest bundle in the release is
# the one we want (hence the DL3008 exception below).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 revoke-role-bot \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin revoke-role-bot

COPY --from=builder /build/target/release/revoke-role-bot /usr/local/bin/revoke-role-bot

# The image carries no config and names none: give the bot exactly one of
# --config FILE, REVOKE_ROLE_BOT_CONFIG (a path, e.g. a mounted file) or
# REVOKE_ROLE_BOT_CONFIG_TOML (the TOML text; deploy/bot.yaml feeds it from an
# SSM parameter). A default here would be a second source, which the bot refuses.

USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/revoke-role-bot", "health"]
ENTRYPOINT ["/usr/local/bin/revoke-role-bot"]
CMD ["serve"]
