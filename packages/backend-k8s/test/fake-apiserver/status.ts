/** `Status` bodies shaped exactly as kube-apiserver returns them. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string; type?: string }[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }
  body() {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `deployments.apps "x" not found` */
export function notFound(resource: string, group: string, name: string): ApiError {
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(404, "NotFound", `${qualified} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function successStatus(details: StatusDetails) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}
