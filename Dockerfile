# The one image: the collector (`/bin/alloy run`), its config reloader (`/bin/alloy
# config-reloader`) and the operator (`/bin/operator`), all from one `npm run build`.
# Conventions shared with charts/alloy and operator/: non-root user `alloy` (UID/GID 473) by
# default, config at /etc/alloy/config.alloy, data at /var/lib/alloy/data, HTTP on 12345.
# test/image.test.ts checks this file against the chart and operator defaults.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY collector ./collector
COPY operator ./operator
COPY bench ./bench
COPY e2e ./e2e
COPY packaging ./packaging
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN groupadd --system --gid 473 alloy \
 && useradd --system --uid 473 --gid 473 --home-dir /var/lib/alloy --shell /usr/sbin/nologin alloy \
 && mkdir -p /etc/alloy /var/lib/alloy/data \
 && chown -R 473:473 /var/lib/alloy
WORKDIR /opt/alloy
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin/alloy bin/bundle-form.mjs bin/operator ./bin/
RUN ln -s /opt/alloy/bin/alloy /bin/alloy && ln -s /opt/alloy/bin/operator /bin/operator
COPY charts/alloy/config/default.alloy /etc/alloy/config.alloy
ENV NODE_ENV=production
USER alloy
EXPOSE 12345
VOLUME ["/var/lib/alloy/data"]
ENTRYPOINT ["/bin/alloy"]
CMD ["run", "/etc/alloy/config.alloy", "--storage.path=/var/lib/alloy/data", "--server.http.listen-addr=0.0.0.0:12345"]
