// A CommonJS consumer: require() of every package, and a fleet run with the CJS build.
const { createFleet, memoryRuntime } = require("@mcpfleet/core");
const { processRuntime } = require("@mcpfleet/backend-process");
const { mcpProbe } = require("@mcpfleet/mcp");

async function main() {
  const runtime = memoryRuntime();
  const fleet = createFleet({ runtimes: { docker: runtime, process: processRuntime() }, probes: [mcpProbe()] });
  await fleet.start();
  const inst = await fleet.instances.create({ name: "cjs", json_spec: { type: "docker", image: "mcp/x:1" } });
  const done = await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 10000 });
  await fleet.close();
  await runtime.close();
  process.stdout.write(done.status);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
