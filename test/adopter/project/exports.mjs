// Imports every package as ESM and as CJS (createRequire) and prints what each exports.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const names = process.argv.slice(2);
const out = {};
for (const name of names) {
  const esm = await import(name);
  const cjs = require(name);
  out[name] = { esm: Object.keys(esm).sort(), cjs: Object.keys(cjs).sort() };
}
// One error class across both builds: the Symbol.for marker makes isInstance hold either way.
const esmCore = await import("@mcpfleet/core");
const cjsCore = require("@mcpfleet/core");
out.crossBuild = {
  esmSeesCjsError: esmCore.FleetError.isInstance(new cjsCore.FleetError("CONFLICT", "x")),
  cjsSeesEsmError: cjsCore.FleetError.isInstance(new esmCore.FleetError("CONFLICT", "x")),
};
process.stdout.write(JSON.stringify(out));
