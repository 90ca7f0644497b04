# syntax=docker/dockerfile:1
# sensorbus container image. Two stages: `build` compiles TypeScript with the dev dependencies;
# the runtime stage holds production dependencies, dist/ and bin/ only, and runs as a non-root
# numeric user (so Kubernetes can verify runAsNonRoot without a runAsUser override).
#
#   docker build -t sensorbus:dev .
#   docker run --rm -p 12000:12000 -v "$PWD/eventsources:/etc/sensorbus/manifests:ro" sensorbus:dev

ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused until package*.json change. --ignore-scripts because
# `prepare` (the tsc build) needs the sources, which are copied next.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build script bundles typebox after tsc (scripts/bundle-typebox.mjs).
COPY scripts ./scripts
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no lifecycle scripts (prepare would try to compile again).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
# Manifests for `sensorbus run` are mounted here (a ConfigMap in deploy/base).
RUN mkdir -p /etc/sensorbus/manifests
USER 65532:65532
# 7777: /metrics, /livez, /readyz, /healthz. 12000: the webhook port of the example EventSources.
EXPOSE 7777 12000
ENTRYPOINT ["node", "/app/bin/sensorbus.js"]
CMD ["run", "/etc/sensorbus/manifests", "--listen", "0.0.0.0"]
