import type { ChildProcess, spawn as spawnFn } from "node:child_process";
import type { DeployRequest, Logger, ObservedInstance, ProcessSpec } from "@mcpfleet/core";
import type { LogRing } from "@mcpfleet/core/adapter";
import type { ServedBridge, StdioBridgeOptions } from "@mcpfleet/mcp";
import { serveStdioBridge } from "@mcpfleet/mcp";
import { hasExited, killGroup, killGroupNow } from "./kill-group.js";
import { lineSplitter } from "./line-splitter.js";
import { startTime } from "./pid-records.js";
import { waitForPort } from "./port-wait.js";
import { commandExists, type LaunchPlan } from "./sandbox.js";

export interface InstanceSettings {
  spawn: typeof spawnFn;
  env: Record<string, string>;
  /** What to run for a spec (sandbox wrapper included), given its argv and environment. */
  plan(spec: ProcessSpec, argv: { cmd: string; args: string[] }, env: Record<string, string>): LaunchPlan;
  /** Called with the spawned pid (recorded for crash recovery) and once it has exited. */
  onSpawn(pid: number): void;
  onGone(): void;
  logLimit: number;
  killGraceMs: number;
  startTimeoutMs: number;
  httpPath: string;
  /** Host part of HTTP-transport endpoints (what other machines reach). */
  advertiseHost: string;
  bridge: Omit<StdioBridgeOptions, "logger">;
  logger: Logger;
  onChange(instanceId: string, kind: "changed" | "exited"): void;
}

const now = () => new Date().toISOString();
const hostPart = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** One running child process (and its bridge for stdio servers). */
export class ProcessInstance {
  observed: ObservedInstance;
  readonly ready: Promise<void>;
  private child: ChildProcess | undefined;
  /** The sandboxed process group's leader inside bwrap, as the host sees it. */
  private innerPid: number | undefined;
  /** Resolves once bwrap said the sandbox's pid (or its info pipe closed). */
  private info: Promise<void> = Promise.resolve();
  private innerStart: string | undefined;
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
    const plan = this.s.plan(spec, { cmd: cmd as string, args: argv }, env);
    if (plan.infoFd && !commandExists(cmd as string, env.PATH)) {
      // inside bwrap a missing program is bwrap's exit 1: say what spawn would have said
      this.fail(`cannot start "${cmd}": ENOENT`, true);
      return;
    }
    const child = this.s.spawn(plan.file, plan.args, plan.options);
    this.child = child;
    if (plan.infoFd) this.readInfo(child);
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once("spawn", () => resolve(undefined));
      child.once("error", (err) => resolve(err));
    });
    if (spawned) {
      this.fail(`cannot start "${cmd}": ${(spawned as NodeJS.ErrnoException).code ?? spawned.message}`, true);
      return;
    }
    if (child.pid !== undefined) this.s.onSpawn(child.pid);
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
      this.observed = {
        ...this.observed,
        endpoint: this.bridge.url,
        endpointHeaders: this.bridge.headers,
        transport: "streamable-http",
      };
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
    this.observed = {
      ...this.observed,
      endpoint: `http://${hostPart(this.s.advertiseHost)}:${port}${path}`,
      transport,
    };
    const until = Date.now() + this.s.startTimeoutMs;
    const ready = waitForPort(port, "127.0.0.1", () => !hasExited(child) && !this.stopping && Date.now() < until).then(
      (open) => {
        if (open && !hasExited(child) && !this.stopping) this.markRunning();
      },
    );
    await Promise.race([ready, this.startAbort]);
  }

  private readInfo(child: ChildProcess): void {
    const info = child.stdio[3] as NodeJS.ReadableStream | null | undefined;
    if (!info) return;
    let text = "";
    info.setEncoding("utf8");
    this.info = new Promise<void>((resolve) => {
      info.on("data", (d: string) => {
        text += d;
        const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
        if (m) {
          this.innerPid = Number(m[1]);
          this.innerStart = startTime(this.innerPid);
          resolve();
        }
      });
      info.on("close", () => resolve());
      info.on("error", () => resolve());
    });
  }

  /**
   * SIGKILL to the sandbox's pid 1 (ends its whole pid namespace) and its session's group: a
   * sandbox whose bwrap parent died before the sandbox armed --die-with-parent must not survive.
   */
  private killInner(): void {
    const pid = this.innerPid;
    // never a pid that was reused since: it must still be the process bwrap named
    if (pid === undefined || this.innerStart === undefined || startTime(pid) !== this.innerStart) return;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // already gone
      }
    }
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
    this.killInner();
    this.s.onGone();
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
    if (this.child) {
      // a stop right after the spawn: learn the sandbox's pid first, or bwrap could die before the
      // sandbox arms --die-with-parent and leave it running in its own session
      if (!hasExited(this.child)) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([this.info, new Promise((r) => (timer = setTimeout(r, 5_000)))]).finally(() =>
          clearTimeout(timer),
        );
      }
      await killGroup(this.child, this.s.killGraceMs, this.innerPid);
      this.killInner();
    }
    await this.ready;
    // a remove right after a crash (the reconciler restarting it) can come before the bridge has seen
    // stdout close: in-flight calls still learn why the server went away
    await this.bridge?.close(this.exitReason);
  }

  /** Synchronous kill for the parent's `exit` hook. */
  killNow(): void {
    if (this.child && !hasExited(this.child)) killGroupNow(this.child);
    this.killInner();
  }
}
