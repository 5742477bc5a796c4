# syntax=docker/dockerfile:1

# consent-gate: build with the dev toolchain, run with production dependencies only.
#   docker build -t consent-gate:0.1.0 .
#   docker run --rm -p 8080:8080 -e KALEYRA_SID=... -e KALEYRA_API_KEY=... consent-gate:0.1.0

# ---- build: the same artefacts `npm run build` makes locally: tsc -> dist/, then the esbuild bundle in ----
# ---- dist/bundle/ (scripts/bundle.ts) with the V8 code cache its trial start fills, which this stage's Node ----
# ---- makes for the same Node below: every container's first start skips most of the parsing ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig*.json ./
COPY src ./src
COPY scripts/bundle.ts scripts/build-stamp.mjs ./scripts/
RUN npm run build

# ---- simulator: the Kaleyra stand-in for compose and demos (docker build --target simulator), one bundled file ----
# ---- of its own, so the gate's image below never carries it ----
FROM node:22-bookworm-slim AS simulator
WORKDIR /app
COPY --from=build /app/dist/simulator ./dist/simulator
ENV SIMULATOR_HOST=0.0.0.0 SIMULATOR_PORT=8081
EXPOSE 8081
USER node
CMD ["node", "dist/simulator/simulator.mjs"]

# ---- runtime (the default target) ----
FROM node:22-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="consent-gate" \
      org.opencontainers.image.description="Pre-call consent gate for WhatsApp Business voice calls, backed by Kaleyra" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.base.name="docker.io/library/node:22-bookworm-slim"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Files stay owned by root and read-only to the process. The bundle leaves @fastify/swagger and
# @fastify/swagger-ui in node_modules (they read their own files); everything else, package.json included, is in it.
# Its code cache, filled by the build stage's Node (the same image: a test holds them equal), is only read here;
# a cache this Node refused would cost the parsing, never the start.
COPY --from=build /app/dist/bundle ./dist/bundle
# The gate defaults to 127.0.0.1 outside a container; here it must accept connections from outside.
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
USER node
# The slim image has no curl: node's global fetch checks liveness (/healthz does no I/O).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(3000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so it drains in-flight checks before exiting.
CMD ["node", "dist/bundle/consent-gate.mjs"]
