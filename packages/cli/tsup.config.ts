import { defineConfig } from "tsup";
import { base } from "../../tsup.base.js";

// an executable: ESM only, no declarations; the workspace packages stay external (dependencies)
export default defineConfig({
  ...base,
  entry: { bin: "src/bin.ts" },
  format: ["esm"],
  dts: false,
  banner: { js: "#!/usr/bin/env node" },
});
