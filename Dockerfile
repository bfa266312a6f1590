# Plugboard server image.
#
#   docker build -t plugboard .
#   docker run --cap-add SYS_ADMIN --cap-add NET_ADMIN -p 127.0.0.1:8080:8080 \
#       -v plugboard-data:/data plugboard

# ---- build ------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
# The whole crate is copied: migrations, templates, static files and exercises are embedded
# in the binary at compile time. .dockerignore keeps target/, databases and .git out.
COPY . .
# Exactly the release build CI runs (.ci/run); --locked builds what Cargo.lock says.
RUN cargo build --release --locked

# ---- run --------------------------------------------------------------------------------
# Same Debian release as the builder, so the binary finds the glibc it was linked against.
FROM debian:bookworm-slim
# iproute2: used by the network-namespace isolation mode. curl: the health check below.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates curl iproute2 \
 && rm -rf /var/lib/apt/lists/*

COPY --from=builder /src/target/release/plugboard /usr/local/bin/plugboard

# Runs as root on purpose: netns isolation needs CAP_SYS_ADMIN and CAP_NET_ADMIN
# (`docker run --cap-add SYS_ADMIN --cap-add NET_ADMIN`, or cap_add in docker-compose.yml).
# Without those capabilities the default `--isolation auto` falls back to loopback mode;
# `--isolation loopback` never needs any privilege.
ENV PLUGBOARD_LISTEN=0.0.0.0:8080 \
    PLUGBOARD_DATABASE_URL=sqlite:///data/plugboard.db
VOLUME /data
WORKDIR /data
EXPOSE 8080

# Follows PLUGBOARD_LISTEN above: change the port here too if you change it there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1

ENTRYPOINT ["/usr/local/bin/plugboard"]
CMD ["serve"]
