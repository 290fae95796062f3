import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@mcpfleet/core";

/**
 * Records of the process groups this runtime started, one small JSON file each under
 * `<workDir>/.pids`, so a runtime started after a crash (`kill -9` of the host) kills what the dead
 * one left behind. A record names its owner (the host process) and every pid with its start time,
 * so a reused pid is never signalled and live runtimes sharing the directory leave each other alone.
 */

interface PidRecord {
  pid: number;
  start: string;
  owner: number;
  ownerStart: string;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), undefined when the pid does not exist. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export class PidRecords {
  private readonly dir: string;
  private readonly ownerStart = startTime(process.pid) ?? "";

  constructor(
    workDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = join(workDir, ".pids");
  }

  private file(name: string): string {
    return join(this.dir, `${process.pid}-${name}.json`);
  }

  add(name: string, pid: number): void {
    const start = startTime(pid);
    if (start === undefined) return;
    const rec: PidRecord = { pid, start, owner: process.pid, ownerStart: this.ownerStart };
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(this.file(name), JSON.stringify(rec), { mode: 0o600 });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "cannot record a child's pid");
    }
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }

  /** SIGKILLs the process groups of records whose owner is gone; returns how many groups it killed. */
  reap(): number {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(".json"));
    } catch {
      return 0;
    }
    let killed = 0;
    for (const n of names) {
      const path = join(this.dir, n);
      let rec: PidRecord;
      try {
        rec = JSON.parse(readFileSync(path, "utf8")) as PidRecord;
      } catch {
        rmSync(path, { force: true });
        continue;
      }
      if (startTime(rec.owner) === rec.ownerStart) continue; // its runtime still lives
      if (startTime(rec.pid) === rec.start) {
        try {
          process.kill(-rec.pid, "SIGKILL");
          killed++;
        } catch {
          // gone meanwhile
        }
      }
      rmSync(path, { force: true });
    }
    if (killed > 0) this.logger.warn({ killed }, "killed process groups a previous run left behind");
    return killed;
  }
}
