# Image of the engine: one image, three commands (worker, bridge, api). Build: docker build -t ota-engine .
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20.19-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
# The compose file picks the process: dist/worker/main.js, dist/bridge/main.js or dist/api/main.js.
CMD ["node", "dist/api/main.js"]
