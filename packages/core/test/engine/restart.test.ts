import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fileStore, memoryRuntime } from "../../src/index.js";
import { dockerSpec, type Harness, harness } from "./harness.js";

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.fleet.close();
});

describe("restart from fileStore", () => {
  it("a fleet restarted on the same file restores and reconciles every instance", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "mcpfleet-")), "fleet.json");
    const a = await harness({ store: fileStore({ path }) });
    const ids = [];
    for (let i = 0; i < 5; i++)
      ids.push((await a.fleet.instances.create({ name: `r${i}`, json_spec: dockerSpec() })).id);
    await a.fleet.instances.stop(ids[4]!);
    for (const id of ids.slice(0, 4)) await a.fleet.instances.waitFor(id, "running");
    await a.fleet.instances.waitFor(ids[4]!, "stopped");
    await a.fleet.close();

    // a new process: fresh runtime (nothing running), same file
    const b = await harness({ store: fileStore({ path }) });
    open.push(b);
    await b.fleet.idle(); // start-up reconciled everything
    for (const id of ids.slice(0, 4)) {
      expect(b.runtime.deployCount(id)).toBe(1);
      expect((await b.fleet.instances.get(id)).status).toBe("running");
    }
    expect(b.runtime.deployCount(ids[4]!)).toBe(0);
    expect((await b.fleet.instances.get(ids[4]!)).status).toBe("stopped");
    const onDisk = JSON.parse(readFileSync(path, "utf8"));
    expect(onDisk.instances).toHaveLength(5);
  });

  it("at start-up it adopts owned objects without redeploying and removes orphans", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "mcpfleet-")), "fleet.json");
    const runtime = memoryRuntime(); // survives the fleet, like containers survive the manager
    const a = await harness({ store: fileStore({ path }), runtime });
    const keep = await a.fleet.instances.create({ name: "keep", json_spec: dockerSpec() });
    const gone = await a.fleet.instances.create({ name: "gone", json_spec: dockerSpec() });
    await a.fleet.instances.waitFor(keep.id, "running");
    await a.fleet.instances.waitFor(gone.id, "running");
    await a.fleet.close();
    // while the manager is down, the gone instance's document disappears
    const store = fileStore({ path });
    await store.instances.delete(gone.id);
    await store.close();

    const b = await harness({ store: fileStore({ path }), runtime });
    open.push(b);
    await b.fleet.idle();
    expect(runtime.ids()).toEqual([keep.id]);
    expect(runtime.deployCount(keep.id)).toBe(1);
    expect((await b.fleet.instances.get(keep.id)).status).toBe("running");
  });
});
