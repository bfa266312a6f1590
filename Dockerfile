# Plugboard server image.
#
#   docker build -t plugboard .
#   docker run --cap-add SYS_ADMIN --cap-add NET_ADMIN -p 127.0.0.1:8080:8080 \
#       -v plugboard-data:/data plugboard

# ---- build ------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
# Dependencies first, from the manifest and lock file alone, built against placeholder targets:
# this layer is reused until Cargo.toml or Cargo.lock changes, so a change to the source
# rebuilds only the crate itself instead of every dependency. The bench targets are declared
# in Cargo.toml, so their files must exist for the manifest to load: their names are read from
# it (each `[[bench]]` has its `name` on the next line), so a new bench needs no change here.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p server benches \
 && echo 'fn main() {}' > server/main.rs \
 && touch server/lib.rs \
 && for bench in $(sed -n '/^\[\[bench\]\]/{n;s/^name = "\(.*\)"$/\1/p}' Cargo.toml); do \
        echo 'fn main() {}' > "benches/$bench.rs"; done \
 && cargo build --release --locked \
 && cargo clean --release --package plugboard \
 && rm -rf server benches
# The whole crate: migrations, templates, static files and exercises are embedded in the
# binary at compile time. .dockerignore keeps target/, databases and .git out.
COPY . .
# Exactly the release build CI runs (.ci/run); --locked builds what Cargo.lock says.
RUN cargo build --release --locked

# ---- run --------------------------------------------------------------------------------
# Same Debian release as the builder, so the binary finds the glibc it was linked against.
FROM debian:bookworm-slim
# curl: the health check below. Nothing else is needed at run time: network namespaces are
# made over netlink by the server itself, without `ip`.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates curl \
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
