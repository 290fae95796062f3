// Type-checked with tsc as CommonJS (the "require" types, .d.cts).
import core = require("@mcpfleet/core");
import processBackend = require("@mcpfleet/backend-process");

const fleet: core.Fleet = core.createFleet({ runtimes: { process: processBackend.processRuntime() } });
export = fleet;
