# segue's service in a container: `segue serve` on 0.0.0.0:8080, its data (SQLite
# database, secret and admin keys, artifacts) in the /data volume, workflows run in
# Debian's Chromium inside segue's bubblewrap sandbox, as the unprivileged user `segue`.
# README.md, "Install anywhere", shows how to build and run it.
#
# Debian 13 (trixie) on both stages: the runner's playwright-core needs Node.js 20 or
# newer, which is Debian's own `nodejs` from trixie on (bookworm ships 18).

# Build: the same relocatable archive scripts/package.sh makes for any Debian machine.
FROM rust:1-trixie AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/package.sh --profile release --out /out \
 && mv /out/segue-*-linux-*/ /opt/segue

FROM debian:trixie-slim
# chromium, nodejs and bubblewrap run workflows; fonts-liberation gives pages the common
# metric-compatible fonts; tini reaps the processes runs leave behind and forwards signals.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium nodejs bubblewrap ca-certificates fonts-liberation tini \
 && rm -rf /var/lib/apt/lists/*
# The binary finds its runner at <prefix>/lib/segue/runner-js (crates/runner/src/locate.rs).
COPY --from=build /opt/segue/bin/segue /usr/local/bin/segue
COPY --from=build /opt/segue/lib/segue /usr/local/lib/segue
COPY --from=build /opt/segue/examples /usr/local/share/segue/examples

RUN useradd --system --user-group --uid 10001 --home-dir /data --shell /usr/sbin/nologin segue \
 && mkdir -p /data \
 && chown segue:segue /data
USER segue
ENV HOME=/data SEGUE_DATA_DIR=/data
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "segue"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data-dir", "/data"]
