# Herald in a container: built by the same script as the demo and CI (.ci/build), then only
# the server binary and the built site in a small runtime image.
#   docker build -t herald .
#   docker run --stop-timeout 30 -p 3000:3000 -v herald-data:/data -e HERALD_SECURE_COOKIES=false herald
# (--stop-timeout: a stop waits up to HERALD_SHUTDOWN_GRACE, 20 s, for requests in flight;
# Docker's own default of 10 s would cut it short with SIGKILL.)
# With PostgreSQL: compose.yaml. Environment: README, "Operating Herald".

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV CARGO_TARGET_DIR=/src/target/cargo
RUN bash .ci/build \
 && mkdir -p /out \
 && cp "$CARGO_TARGET_DIR/release/server" /out/server \
 && cp -r target/site /out/site
# The symbols stay in the build (profiles of the benchmarks read them), not in the image:
# 92 MB of binary become 56.
RUN strip /out/server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /data --create-home herald
COPY --from=build /out/server /usr/local/bin/herald
COPY --from=build /out/site /srv/herald/site
USER herald
WORKDIR /data
ENV LEPTOS_SITE_ROOT=/srv/herald/site \
    LEPTOS_OUTPUT_NAME=herald \
    DATABASE_URL=sqlite:///data/herald.db \
    HERALD_LISTEN=0.0.0.0:3000
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=6s --start-period=60s --retries=3 CMD ["herald", "probe"]
ENTRYPOINT ["herald"]
CMD ["serve"]
