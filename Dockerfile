# The engine's image: worker, API and migrations (choose with the command).
FROM node:24.19-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production KAP_SKIP_TOOLCHAIN=1
COPY package.json package-lock.json ./
COPY scripts ./scripts
# KAP_SKIP_TOOLCHAIN: containers talk to a Temporal cluster; no local dev server binary is needed.
RUN npm ci --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY bin ./bin
USER node
EXPOSE 3000
CMD ["npm", "run", "api"]
