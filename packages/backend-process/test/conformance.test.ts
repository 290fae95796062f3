import { runtimeConformance } from "@mcpfleet/core/testing";
import { processRuntime } from "../src/index.js";
import { everythingStdio, processRequest, SANDBOX } from "./helpers.js";

runtimeConformance("process", () => processRuntime({ ...SANDBOX, killGraceMs: 2000 }), {
  request: (id, variant) => everythingStdio(id, variant === "b" ? { VARIANT: "b" } : {}),
  crashingRequest: (id) => processRequest(id, { command: [process.execPath, "-e", "process.exit(3)"] }),
  readyTimeoutMs: 20_000,
});
