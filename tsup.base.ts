import type { Options } from "tsup";

/** Shared tsup settings: ESM + CJS + .d.ts, node20 target. Each package spreads this. */
export const base: Options = {
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: false,
  treeshake: true,
};
