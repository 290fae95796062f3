import { randomBytes } from "node:crypto";
import { type Fleet, instanceView, parseContainerStartRequest } from "@mcpfleet/core";
import type { z } from "zod";
import { createInstanceAs } from "../http/create-instance.js";
import type { Operation } from "../http/operation.js";
import { ContainerStart, Instance } from "../http/schemas.js";

/** `my-org/my-mcp:latest` -> `my-mcp-3f9a1c`. */
export function nameFromImage(image: string): string {
  const last = image.split("/").pop() ?? "container";
  const base =
    (last.split("@")[0] ?? last)
      .split(":")[0]!
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "") || "container";
  return `${base.slice(0, 100)}-${randomBytes(3).toString("hex")}`;
}

/** The original manager's flat "start container" call, mapped to a docker instance. */
export function containerOperations(fleet: Fleet): Operation[] {
  const start: Operation["handler"] = async ({ body, signal, principal }) => {
    const b = body as z.infer<typeof ContainerStart>;
    const { json_spec } = parseContainerStartRequest(b);
    return createInstanceAs(
      fleet,
      principal,
      {
        name: b.name ?? nameFromImage(b.image),
        json_spec,
        ...(b.secrets ? { secrets: b.secrets } : {}),
        ...(b.start !== undefined ? { start: b.start } : {}),
      },
      { signal },
    ).then(instanceView);
  };
  const common = {
    method: "post" as const,
    role: "operator" as const,
    tag: "containers",
    body: ContainerStart,
    response: Instance,
    success: 201,
    handler: start,
  };
  return [
    {
      ...common,
      id: "startContainer",
      path: "/v1/containers",
      summary: "Start a container (original manager's flat body)",
    },
    { ...common, id: "startContainerAlias", path: "/v1/containers/start", summary: "Start a container (alias)" },
  ];
}
