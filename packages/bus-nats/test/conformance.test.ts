import { busConformance, describeWith } from "@mcpfleet/core/testing";
import { natsBus } from "../src/index.js";
import { deleteStreams, NATS_URL, natsService, testNames } from "./helpers.js";

const nats = await natsService();

describeWith([nats], "natsBus on a real NATS JetStream", () => {
  busConformance(
    "nats",
    () => {
      const names = testNames("conf");
      const make = () =>
        natsBus({
          servers: NATS_URL,
          ...names,
          maxDeliveries: 3,
          visibilityTimeoutMs: 500,
          redeliveryDelayMs: 10,
          closeTimeoutMs: 300,
          batchSize: 10,
          storage: "memory",
        });
      return { bus: make(), peer: make, cleanup: () => deleteStreams(names) };
    },
    {
      maxDeliveries: 3,
    },
  );
});
