import { busConformance, describeWith } from "@mcpfleet/core/testing";
import { redisBus } from "../src/index.js";
import { deleteKeys, REDIS_URL, redisService, testPrefix } from "./helpers.js";

const redis = await redisService();

describeWith([redis], "redisBus on a real Redis", () => {
  busConformance(
    "redis",
    () => {
      const prefix = testPrefix("conf");
      const make = () =>
        redisBus({
          url: REDIS_URL,
          prefix,
          maxDeliveries: 3,
          visibilityTimeoutMs: 400,
          redeliveryDelayMs: 10,
          closeTimeoutMs: 300,
          blockMs: 200,
        });
      return { bus: make(), peer: make, cleanup: () => deleteKeys(prefix) };
    },
    {
      maxDeliveries: 3,
    },
  );
});
