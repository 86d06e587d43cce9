import type { IncomingMessage } from "node:http";
import { defineConfig, type ProxyOptions } from "vite";

const API = "http://127.0.0.1:8080";

/**
 * The dev server is another origin than the API, and wirelab refuses pages of foreign origins
 * (docs/security.md). A page of this very dev server is the dashboard: tell the API it comes from
 * the API's own origin. Every other Origin is forwarded as it came, so wirelab still refuses it.
 */
const asOwnPage: ProxyOptions["configure"] = (proxy) => {
  const rewrite = (proxyReq: { setHeader(name: string, value: string): void }, req: IncomingMessage) => {
    if (req.headers.origin !== undefined && req.headers.origin === `http://${req.headers.host}`) proxyReq.setHeader("origin", API);
  };
  proxy.on("proxyReq", rewrite);
  proxy.on("proxyReqWs", rewrite);
};

// The dashboard lives in web/ and is built to dist/web, which the wirelab server serves at "/".
// `npm run dev:web` serves it with hot reload and forwards the API to a server on :8080.
export default defineConfig({
  root: "web",
  build: { outDir: "../dist/web", emptyOutDir: true, target: "es2022" },
  server: {
    proxy: { "/v1": { target: API, ws: true, configure: asOwnPage }, "/healthz": API },
  },
});
