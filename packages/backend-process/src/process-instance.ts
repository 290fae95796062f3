import type { ChildProcess, spawn as spawnFn } from "node:child_process";
import type { DeployRequest, Logger, ObservedInstance, ProcessSpec } from "@mcpfleet/core";
import type { ServedBridge, StdioBridgeOptions } from "@mcpfleet/mcp";
import { serveStdioBridge } from "@mcpfleet/mcp";
import { hasExited, killGroup, killGroupNow } from "./kill-group.js";
import { type LogRing, lineSplitter } from "./log-ring.js";
import { waitForPort } from "./port-wait.js";

export interface InstanceSettings {
  spawn: typeof spawnFn;
  env: Record<string, string>;
  logLimit: number;
  killGraceMs: number;
  startTimeoutMs: number;
  httpPath: string;
  bridge: Omit<StdioBridgeOptions, "logger">;
  logger: Logger;
  onChange(instanceId: string, kind: "changed" | "exited"): void;
}

const now = () => new Date().toISOString();

/** One running child process (and its bridge for stdio servers). */
export class ProcessInstance {
  observed: ObservedInstance;
  readonly ready: Promise<void>;
  private child: ChildProcess | undefined;
  private bridge: ServedBridge | undefined;
  /** How the process ended when it ended on its own (not stopped by us). */
  private exitReason: string | undefined;
  private stopping = false;
  private wakeStart: () => void = () => {};
  private readonly startAbort = new Promise<void>((resolve) => {
    this.wakeStart = resolve;
  });

  constructor(
    readonly request: Pick<DeployRequest, "instance" | "spec">,
    readonly logs: LogRing,
    private readonly s: InstanceSettings,
  ) {
    const id = request.instance.id;
    this.observed = {
      instanceId: id,
      specHash: request.instance.specHash,
      generation: request.instance.generation,
      phase: "starting",
      startedAt: now(),
    };
    this.ready = this.start(request.spec as ProcessSpec).catch((err: unknown) => {
      this.fail(`failed to start: ${(err as Error).message}`, false);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private log(stream: "stdout" | "stderr", line: string): void {
    this.logs.push({ time: now(), stream, line });
  }

  private async start(spec: ProcessSpec): Promise<void> {
    const [cmd, ...rest] = spec.command;
    const argv = [...rest, ...(spec.args ?? [])];
    const stdio = spec.transport === "stdio";
    const env = { ...this.s.env };
    if (!stdio && spec.port !== undefined && env.PORT === undefined) env.PORT = String(spec.port);
    const child = this.s.spawn(cmd as string, argv, {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: [stdio ? "pipe" : "ignore", "pipe", "pipe"],
    });
    this.child = child;
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once("spawn", () => resolve(undefined));
      child.once("error", (err) => resolve(err));
    });
    if (spawned) {
      this.fail(`cannot start "${cmd}": ${(spawned as NodeJS.ErrnoException).code ?? spawned.message}`, true);
      return;
    }
    this.s.logger.info(
      { instanceId: this.observed.instanceId, pid: child.pid, transport: spec.transport },
      "process started",
    );
    child.stderr?.setEncoding("utf8");
    child.stderr?.on(
      "data",
      lineSplitter((l) => this.log("stderr", l)),
    );
    child.on("exit", (code, signal) => this.onExit(code, signal));
    if (stdio) {
      this.bridge = await serveStdioBridge(child, {
        ...this.s.bridge,
        logger: this.s.logger,
        onOutput: (line) => this.log("stdout", line),
      });
      this.observed = { ...this.observed, endpoint: this.bridge.url, transport: "streamable-http" };
      const ready = this.bridge.bridge.initialized().then(
        () => {
          if (!hasExited(child) && !this.stopping) this.markRunning();
        },
        (err: Error) => {
          // an exit is reported by onExit; anything else (no answer to initialize) is a failed start
          if (!hasExited(child)) this.fail(`MCP initialize failed: ${err.message}`, false);
        },
      );
      const deadline = this.deadline();
      await Promise.race([ready, deadline.promise, this.startAbort]).finally(deadline.cancel);
      return;
    }
    child.stdout?.setEncoding("utf8");
    child.stdout?.on(
      "data",
      lineSplitter((l) => this.log("stdout", l)),
    );
    const port = spec.port as number;
    const transport = spec.transport === "sse" ? "sse" : "streamable-http";
    const path = transport === "sse" ? "/sse" : this.s.httpPath;
    this.observed = { ...this.observed, endpoint: `http://127.0.0.1:${port}${path}`, transport };
    const until = Date.now() + this.s.startTimeoutMs;
    const ready = waitForPort(port, "127.0.0.1", () => !hasExited(child) && !this.stopping && Date.now() < until).then(
      (open) => {
        if (open && !hasExited(child) && !this.stopping) this.markRunning();
      },
    );
    await Promise.race([ready, this.startAbort]);
  }

  private deadline() {
    const state = { timedOut: false };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const promise = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        state.timedOut = true;
        resolve();
      }, this.s.startTimeoutMs);
    });
    return { promise, state, cancel: () => clearTimeout(timer) };
  }

  private markRunning(): void {
    if (this.observed.phase !== "starting") return;
    this.observed = { ...this.observed, phase: "running" };
    this.s.onChange(this.observed.instanceId, "changed");
  }

  private fail(reason: string, permanent: boolean): void {
    if (this.stopping) return;
    if (this.observed.phase === "exited" || this.observed.phase === "failed") return;
    this.observed = { ...this.observed, phase: "failed", reason, permanent };
    this.log("stderr", `[mcpfleet] ${reason}`);
    this.s.onChange(this.observed.instanceId, "exited");
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child?.pid !== undefined) killGroupNow(this.child); // leftover grandchildren
    const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (!this.stopping) this.exitReason = reason;
    const bridge = this.bridge;
    // the bridge answers its in-flight calls with the exit reason when it sees stdout close; the
    // timer (and a remove that comes first) close it with the same reason
    if (bridge) setTimeout(() => void bridge.close(this.exitReason), 250).unref();
    if (this.stopping) return;
    this.observed = {
      ...this.observed,
      phase: "exited",
      reason,
      ...(code !== null ? { exitCode: code } : {}),
    };
    this.log("stderr", `[mcpfleet] process ${reason}`);
    this.s.logger.warn({ instanceId: this.observed.instanceId, code, signal }, "process exited");
    this.s.onChange(this.observed.instanceId, "exited");
  }

  /**
   * Stops waiting for readiness (remove or an aborted deploy): `ready` resolves at once and the
   * instance stays `starting` until it turns out ready or exits.
   */
  abortStart(): void {
    this.wakeStart();
  }

  /** Stops the process group (SIGTERM, grace, SIGKILL) and the bridge. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child) await killGroup(this.child, this.s.killGraceMs);
    await this.ready;
    // a remove right after a crash (the reconciler restarting it) can come before the bridge has seen
    // stdout close: in-flight calls still learn why the server went away
    await this.bridge?.close(this.exitReason);
  }

  /** Synchronous kill for the parent's `exit` hook. */
  killNow(): void {
    if (this.child && !hasExited(this.child)) killGroupNow(this.child);
  }
}
