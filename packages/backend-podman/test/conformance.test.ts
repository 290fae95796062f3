import { describeWith, runtimeConformance } from "@mcpfleet/core/testing";
import { podmanRuntime } from "../src/index.js";
import { cleanupOwner, containerSpec, deployRequest, podmanService, uniqueOwner } from "./helpers.js";

const { status, env } = await podmanService();
const owner = uniqueOwner("t-conf");

describeWith([status], "podmanRuntime conformance (real Podman)", () => {
  if (!env) return;
  runtimeConformance(
    "podman",
    async () => ({
      runtime: podmanRuntime({
        owner,
        network: `${owner}-net`,
        env: { CONTAINER_HOST: `unix://${env.socket}` },
        stopTimeoutSeconds: 2,
      }),
      cleanup: () => cleanupOwner(env.socket, owner, [`${owner}-net`]),
    }),
    {
      request: (id, variant) =>
        deployRequest(id, containerSpec(env.imageHttp), variant === "a" ? {} : { VARIANT: "b" }),
      crashingRequest: (id) => deployRequest(id, containerSpec(env.imageExit)),
    },
  );
});
