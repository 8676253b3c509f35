# syntax=docker/dockerfile:1
# kube-zk-bridge container image.
#   docker build -t REGISTRY/kube-zk-bridge:VERSION .
# Build stage bundles with scripts/build.sh, the same script `npm run build` and the tests
# use; the bundle holds every dependency, so the runtime stage gets dist/ and package.json
# only (no node_modules), runs as a numeric non-root user (so `runAsNonRoot` can verify it)
# and writes nothing outside /tmp, so it runs with a read-only root filesystem.
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN bash scripts/build.sh

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json: "type": "module" for dist/*.js, and the version --version prints.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist ./dist
# The `node` user of the official image.
USER 1000:1000
# DNS (UDP and TCP) and HTTP: the defaults of --dns-listen and --http-listen.
EXPOSE 1053/udp 1053/tcp 8080/tcp
ENTRYPOINT ["node", "--enable-source-maps", "dist/cmd/kube-zk-bridge.js"]
CMD ["run"]
