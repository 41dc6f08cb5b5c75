# dnsquorum container image. Details (signals, grace period, probes, volumes, UID): docs/container.md
#
#   docker build -t dnsquorum .
#   docker run --read-only -v dq-state:/var/lib/dnsquorum -v "$PWD/my.yaml:/etc/dnsquorum/dnsquorum.yaml:ro" \
#     -e DNSQUORUM_API_TOKEN -e DNSQUORUM_CLUSTER_SECRET -e NS1_API_KEY --stop-timeout 30 dnsquorum
#
# The base image is pinned by tag here. In production pin it by digest as well, so a rebuild cannot
# pick up a different image under the same tag:
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest> .
# (`docker buildx imagetools inspect node:22-bookworm-slim` prints the current digest.)
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: every dependency, compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No dependency of ours needs an install script; refusing them keeps a compromised package from
# running code at build time.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
RUN npm run build

# ---- deps: production dependencies only, from the same lock file ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- fakes-build, fakes: the fake Route53 and NS1 (fakes/), for docker/compose.yaml only ----
# Test doubles, built on their own (`docker build --target fakes`): the runtime stage below copies
# nothing from these two stages, so the dnsquorum image holds no fake.
FROM ${NODE_IMAGE} AS fakes-build
WORKDIR /src
COPY --from=build /src/ ./
COPY tsconfig.fakes.json ./
COPY fakes/ ./fakes/
RUN npm run build:fakes

FROM ${NODE_IMAGE} AS fakes
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=fakes-build /src/dist-fakes ./dist-fakes
COPY package.json ./
USER 10001:10001

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# Declared again so the base image's name can go into a label (a global ARG is not seen inside a stage).
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="dnsquorum" \
      org.opencontainers.image.description="Keeps a DNS zone identical across several providers and fails records over when a quorum of probing regions agrees." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

# The package managers are never used at run time; removing them takes their bundled dependencies
# (and the CVE reports about them) out of the image. The user gets a fixed numeric UID so that
# Kubernetes' runAsNonRoot can verify it and volume ownership is predictable. The state directory
# is the only place the process writes; it is created here so a fresh volume mounted on it
# inherits this owner.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
        /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
        /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && groupadd --system --gid 10001 dnsquorum \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dnsquorum \
 && mkdir -p /var/lib/dnsquorum /etc/dnsquorum \
 && chown 10001:10001 /var/lib/dnsquorum \
 && chmod 0700 /var/lib/dnsquorum

ENV NODE_ENV=production \
    DNSQUORUM_CONFIG=/etc/dnsquorum/dnsquorum.yaml \
    DNSQUORUM_STATE_DIR=/var/lib/dnsquorum

WORKDIR /app
# Code and dependencies stay owned by root: the process cannot modify what it runs.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY config/ ./config/

# Without a mount here, `docker run --read-only` still gets a writable (anonymous) volume for state.
VOLUME ["/var/lib/dnsquorum"]

# 8053: admin API (/healthz, /readyz, /metrics, status, overrides, peer exchange).
# 53: DNS, only when the config has a `local` provider listening there (see docs/container.md for
# binding port 53 as a non-root user).
EXPOSE 8053/tcp 53/udp 53/tcp

USER 10001:10001

# No curl in the image: node's fetch asks the daemon's own /healthz. DNSQUORUM_HEALTHCHECK_URL
# overrides the address when api.listen uses another port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.DNSQUORUM_HEALTHCHECK_URL || 'http://127.0.0.1:8053/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node is PID 1 and our code handles SIGTERM, SIGINT (stop: finish a write in flight, exit 0 within
# 25 s) and SIGHUP (reload the config). No init process is needed: the daemon spawns no children,
# so there are no zombies to reap. Give the runtime at least 30 s to stop it (docs/container.md).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli/index.js"]
CMD ["run", "--config", "/etc/dnsquorum/dnsquorum.yaml"]
