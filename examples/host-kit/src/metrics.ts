import { type Fleet, type FleetObserver, INSTANCE_STATUSES } from "@mcpfleet/core";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const STATUSES = INSTANCE_STATUSES;

/** Prometheus metrics of one host (own registry, so several hosts can share a process in tests). */
export class HostMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: "mcpfleet_http_request_duration_seconds",
    help: "REST request duration by operation and status",
    labelNames: ["operation", "method", "status"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly gatewayDuration = new Histogram({
    name: "mcpfleet_gateway_request_duration_seconds",
    help: "MCP gateway request duration (until the response ends; streams included)",
    labelNames: ["route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
    registers: [this.registry],
  });
  readonly gatewayErrors = new Counter({
    name: "mcpfleet_gateway_errors_total",
    help: "MCP gateway responses with status >= 500 or failures before a response",
    labelNames: ["route"],
    registers: [this.registry],
  });
  readonly busPublished = new Counter({
    name: "mcpfleet_bus_published_total",
    help: "Events this process published on the bus, by type",
    labelNames: ["type"],
    registers: [this.registry],
  });
  readonly statusChanges = new Counter({
    name: "mcpfleet_instance_status_changes_total",
    help: "Instance status changes seen by this process (published or received), by new status",
    labelNames: ["status"],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "mcpfleet_reconcile_duration_seconds",
    help: "Duration of one reconcile pass of one instance in this process, by outcome (ok | error)",
    labelNames: ["outcome"],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
    registers: [this.registry],
  });
  readonly busLag = new Histogram({
    name: "mcpfleet_bus_delivery_lag_seconds",
    help: "Time from an event's publication (its CloudEvents time) to its arrival here, by consumer (reconciler = work group, listeners = broadcast)",
    labelNames: ["consumer"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  /** Pass to `createFleet({ observer })` so reconcile durations and bus lag reach the histograms. */
  readonly observer: FleetObserver = {
    reconciled: (o) => this.reconcileDuration.observe({ outcome: o.outcome }, o.durationMs / 1000),
    eventReceived: (o) => this.busLag.observe({ consumer: o.consumer }, o.lagMs / 1000),
  };
  private unsubscribe: (() => void) | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "mcpfleet_host_" });
  }

  attach(fleet: Fleet): void {
    new Gauge({
      name: "mcpfleet_instances",
      help: "Instances by status (read from the store at scrape time)",
      labelNames: ["status"],
      registers: [this.registry],
      async collect() {
        const counts = new Map<string, number>(STATUSES.map((s) => [s, 0]));
        for (const i of await fleet.instances.list()) counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    this.unsubscribe = fleet.subscribe((e) => {
      if (e.type === "MCPServerInstanceStatusChanged" && e.data.status)
        this.statusChanges.inc({ status: e.data.status });
    });
  }

  detach(): void {
    this.unsubscribe?.();
  }
}
