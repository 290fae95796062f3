import { defineConfig } from "tsup";
import { base } from "../../tsup.base.js";

export default defineConfig({
  ...base,
  entry: { index: "src/index.ts", "adapter/index": "src/adapter/index.ts", "testing/index": "src/testing/index.ts" },
  external: ["vitest"],
});
