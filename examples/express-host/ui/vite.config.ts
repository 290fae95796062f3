import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The dashboard, built into ui/dist and served by the host at /ui (src/http/dashboard.ts).
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  // Preact's automatic JSX runtime through esbuild: no Babel preset needed
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  resolve: { alias: { react: "preact/compat", "react-dom": "preact/compat" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // no inline scripts or data: modules, so the host's Content-Security-Policy holds
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 1024,
  },
  server: { proxy: { "/v1": "http://127.0.0.1:8080", "/mcp": "http://127.0.0.1:8080" } },
});
