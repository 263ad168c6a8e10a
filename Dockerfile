# syntax=docker/dockerfile:1
# Mooring's one image: every part of Mooring, compiled to JavaScript, run as a non-root user.
# The first argument picks the part (cli/serve.ts): none or `all` (one process, as `npm start`),
# `gateway`, `http`, `api`, `integrations` (or a list, `gateway,http`), `function` (the Knative
# function MOORING_FUNCTION names) or `controller`; the rest is the environment (README's table).
#   docker build -t mooring .            docker run -p 1883:1883 mooring gateway
# Without a daemon or a registry: scripts/image/build.sh (buildah on a local base, BASE below).
# Behind a TLS-inspecting proxy, give npm its CA as the secret `npm-ca` (never stored in a layer):
#   docker build --secret id=npm-ca,src=/path/to/ca.crt -t mooring .
ARG BASE=node:20-bookworm-slim

# TypeScript to JavaScript (dist/): needs the dev dependencies (typescript, types), not their scripts.
FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm-ca,required=false \
    if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
 && npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier
# The sources, the build's tsconfig and script, the assets: what .dockerignore lets in, in one layer.
COPY . .
RUN npm run build

# The production dependencies alone (none of them has an install script).
FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm-ca,required=false \
    if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --no-update-notifier && rm -rf /root/.npm

FROM ${BASE}
# uid/gid 10001, as the manifests' runAsUser (deploy/, knative/); the data directory is its only writable place.
RUN groupadd --system --gid 10001 mooring \
 && useradd --system --uid 10001 --gid mooring --home-dir /var/lib/mooring --no-create-home --shell /usr/sbin/nologin mooring \
 && mkdir -p /var/lib/mooring && chown mooring:mooring /var/lib/mooring
WORKDIR /app
ENV NODE_ENV=production MOORING_DATA_DIR=/var/lib/mooring
COPY package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/dist dist
USER 10001:10001
# MQTT, MQTTS, MQTT/WS; HTTP(S) devices; ingress (/metrics, /health/*); API; the integrations; PORT.
EXPOSE 1883 8883 8083 8088 8443 8081 8011 18883 18884 18083 10002 8080
ENTRYPOINT ["node", "dist/cli/serve.js"]
