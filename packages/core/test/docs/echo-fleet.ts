import { createFleet } from "@mcpfleet/core";
import { EchoSpec, echoRuntime } from "./echo-runtime.js";

/** Runs one `echo` instance in a fleet and returns what its endpoint answers. */
export async function echoFleet(message: string): Promise<string> {
  const runtime = echoRuntime();
  const fleet = createFleet({
    specTypes: { echo: EchoSpec }, // a Standard Schema (zod, valibot, arktype) or a parse function
    runtimes: { echo: runtime }, // instances are routed by json_spec.type
  });
  try {
    await fleet.start();
    const inst = await fleet.instances.create({
      name: "hello",
      json_spec: { type: "echo", message, health_check: "/" }, // probed over HTTP until it answers 2xx
    });
    await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 10_000 });
    const { endpoint } = await fleet.connection(inst.id);
    return await (await fetch(endpoint)).text();
  } finally {
    await fleet.close(); // a fleet closes only what it created: the runtime is ours to close
    await runtime.close();
  }
}
