import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The app imports the SDK as users of the package do (`signalroom/client`);
// the alias points that at the source so the app builds from a checkout.
export default defineConfig({
  root: here("."),
  publicDir: here("public"),
  resolve: {
    alias: { "signalroom/client": here("../src/client/index.ts") },
  },
  build: {
    outDir: here("../dist/web"),
    emptyOutDir: true,
    rollupOptions: {
      input: {
        app: here("index.html"),
        "one-to-one": here("examples/one-to-one.html"),
      },
    },
    target: "es2022",
    sourcemap: true,
  },
  server: {
    proxy: { "/ws": { target: "ws://localhost:3000", ws: true }, "/api": "http://localhost:3000" },
  },
});
