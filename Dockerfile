# syntax=docker/dockerfile:1
# Build stages. cargo-chef turns the manifest into a recipe with every target stubbed, so the
# dependencies build in a layer of their own (a source change rebuilds only hotline) and no
# stub is written by hand: a new bench or binary needs no change here. CI runs these stages
# (scripts/dockerfile_build.py: `docker build` where a daemon runs, else each step as written
# in a clean folder).
FROM rust:1-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin hotline
COPY . .
RUN cargo build --release --locked --bin hotline

# Runtime stage: the binary, its C runtime needs, an unprivileged user, a volume for SQLite.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/hotline hotline \
 && mkdir -p /var/lib/hotline && chown hotline /var/lib/hotline
COPY --from=build /src/target/release/hotline /usr/local/bin/hotline
USER hotline
WORKDIR /var/lib/hotline
# Two malloc arenas: SQLite's page buffers are allocated on whichever thread runs a query, and
# with an arena per thread a million-alert notice left 147 MiB resident instead of 56 MiB
# (README, Benchmarks, Job alerts).
ENV HOTLINE_LISTEN=0.0.0.0:8080 \
    HOTLINE_DATABASE_URL=sqlite:///var/lib/hotline/hotline.db \
    HOTLINE_LOG_FORMAT=json \
    MALLOC_ARENA_MAX=2
VOLUME /var/lib/hotline
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["hotline", "healthcheck", "--url", "http://127.0.0.1:8080"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["hotline"]
CMD ["serve"]
