import { runtimeConformance } from "@mcpfleet/core/testing";
import { EchoSpec, echoRuntime } from "./echo-runtime.js";

runtimeConformance("echo", echoRuntime, { spec: { type: "echo", message: "hi" }, specTypes: { echo: EchoSpec } });
