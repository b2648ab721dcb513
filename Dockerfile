# syntax=docker/dockerfile:1
# Engram's production image: one image for the API (the default command) and the worker
# (`docker run <image> node apps/worker/dist/main.js`). docs/operations.md, "Deploying".

ARG NODE_VERSION=24

# Build: every dependency (swc, typescript), then the build, then the development dependencies are dropped.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund \
  && node scripts/build.mjs \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf bench test docs infra/scripts

# Runtime: the built workspaces and the production dependencies only, run by an unprivileged user.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/data \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/libs ./libs
COPY --from=build --chown=node:node /app/apps ./apps
COPY --from=build --chown=node:node /app/ee ./ee
# The embedded database's directory (used only without DATABASE_URL): a volume can be mounted here.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# Liveness of the process; readiness (/ready: the dependencies) is the orchestrator's probe, not the container's.
# The slim image has no curl: Node's own fetch asks.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains (requests and jobs under way finish) and exits 0; give it the orchestrator's grace period.
STOPSIGNAL SIGTERM
CMD ["node", "apps/api/dist/main.js"]
