# syntax=docker/dockerfile:1

# ---- build: compile the native modules and the TypeScript ----
FROM node:26-trixie-slim AS build
# better-sqlite3 and argon2 build from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY views ./views
COPY migrations ./migrations
COPY test ./test
COPY .ci/prune-native.sh ./
RUN npm run build \
 && npm prune --omit=dev \
 && sh prune-native.sh \
 && rm -rf dist/test dist/.tsbuildinfo

# ---- runtime: production dependencies and compiled code only, as a non-root user ----
FROM node:26-trixie-slim
# A V8 old space of 160 MB: the server keeps ~40 MB live, and without a cap V8 lets garbage pile
# up to 400-500 MB RSS under load on a large host (npm run bench: peak RSS 530 -> 179 MB).
ENV NODE_ENV=production \
    PORT=3000 \
    DATABASE_PATH=/data/monitor.db \
    NODE_OPTIONS=--max-old-space-size=160
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY public ./public
# The database lives on a volume owned by the unprivileged "node" user of the base image.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/src/cli/healthcheck.js"]
# SIGTERM from `docker stop` reaches node directly (no npm wrapper) for a graceful shutdown.
CMD ["node", "dist/src/server.js"]
