import { defineConfig } from "vite";

// The dashboard lives in web/ and is built to dist/web, which the wirelab server serves at "/".
// `npm run dev:web` serves it with hot reload and forwards the API to a server on :8080.
export default defineConfig({
  root: "web",
  build: { outDir: "../dist/web", emptyOutDir: true, target: "es2022" },
  server: {
    proxy: { "/v1": { target: "http://127.0.0.1:8080", ws: true }, "/healthz": "http://127.0.0.1:8080" },
  },
});
