import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileStore, memoryStore } from "../../src/index.js";
import { sampleInstance, storeConformance } from "../../src/testing/index.js";

const dir = () => mkdtempSync(join(tmpdir(), "mcpfleet-store-"));

storeConformance("memoryStore", () => memoryStore(), {
  query: true,
  templates: true,
  leases: true,
  keys: true,
  records: true,
});

const shared = join(dir(), "fleet.json");
storeConformance("fileStore", () => fileStore({ path: shared, leases: true }), {
  reopen: () => fileStore({ path: shared, leases: true }),
  query: true,
  templates: true,
  leases: true,
  keys: true,
  records: true,
});

const plain = join(dir(), "fleet.json");
storeConformance("fileStore without leases (the default)", () => fileStore({ path: plain }), {
  reopen: () => fileStore({ path: plain }),
  query: true,
  templates: true,
  leases: false,
  keys: true,
  records: true,
});

describe("fileStore durability", () => {
  it("a crash mid-write (temp file left behind) keeps the previous state readable", async () => {
    const d = dir();
    const path = join(d, "fleet.json");
    const store = fileStore({ path });
    const doc = await store.instances.create(sampleInstance({ name: "survivor" }));
    await store.close();
    // what a process killed between write and rename leaves behind
    writeFileSync(`${path}.999.123.tmp`, '{"format":"mcpfleet-store","instan');
    const again = fileStore({ path });
    expect((await again.instances.get(doc.id))?.name).toBe("survivor");
    await again.instances.update({ ...doc, status: "running" });
    expect(readdirSync(d).filter((f) => f.endsWith(".json"))).toEqual(["fleet.json"]);
    await again.close();
  });

  it("a write that cannot be serialised changes nothing and leaves no temp file", async () => {
    const d = dir();
    const path = join(d, "fleet.json");
    const store = fileStore({ path });
    const doc = await store.instances.create(sampleInstance({ name: "kept" }));
    const before = readFileSync(path, "utf8");
    // a frozen subtree is shared as-is by the table, so only the serialiser can refuse it
    const poison = Object.freeze({ type: "docker", n: BigInt(1) });
    const err = await store.instances.update({ ...doc, json_spec: poison }).catch((e) => e);
    expect(err.code).toBe("SPEC_INVALID");
    expect(await store.instances.get(doc.id)).toEqual(doc);
    expect(readFileSync(path, "utf8")).toBe(before);
    expect(readdirSync(d).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const other = fileStore({ path });
    expect(await other.instances.get(doc.id)).toEqual(doc);
    expect((await store.instances.update({ ...doc, status: "running" })).revision).toBe(2);
    await other.close();
    await store.close();
  });

  it("an unreadable file is an error, never a silently empty store", async () => {
    const path = join(dir(), "fleet.json");
    writeFileSync(path, "not json at all");
    const store = fileStore({ path });
    const err = await store.instances.list().catch((e) => e);
    expect(err.code).toBe("INTERNAL");
    expect(err.message).toMatch(/unreadable/);
  });

  it("bad options are OPTIONS_INVALID naming the option", () => {
    expect(() => fileStore({ path: "" })).toThrow(/\[mcpfleet\/file-store\] option "path"/);
  });

  it("several processes writing one file lose no update", async () => {
    const path = join(dir(), "fleet.json");
    const store = fileStore({ path });
    const doc = await store.instances.create(sampleInstance({ restart_count: 0 }));
    const script = `
      import { fileStore } from ${JSON.stringify(new URL("../../src/index.ts", import.meta.url).pathname)};
      const store = fileStore({ path: ${JSON.stringify(path)} });
      for (let i = 0; i < 25; i++) {
        for (;;) {
          const cur = await store.instances.get(${JSON.stringify(doc.id)});
          try { await store.instances.update({ ...cur, restart_count: cur.restart_count + 1 }); break; }
          catch (e) { if (e.code !== "CONFLICT") throw e; }
        }
      }
      await store.close();`;
    const file = join(dir(), "writer.mts");
    writeFileSync(file, script);
    const tsx = new URL("../../../../node_modules/.bin/tsx", import.meta.url).pathname;
    const run = () =>
      new Promise<number>((resolve) => {
        const p = spawn(tsx, ["--conditions=@mcpfleet/source", file], { stdio: "inherit" });
        p.on("exit", (code) => resolve(code ?? 1));
      });
    expect(await Promise.all([run(), run(), run()])).toEqual([0, 0, 0]);
    expect((await store.instances.get(doc.id))?.restart_count).toBe(75);
    await store.close();
  }, 60_000);
});
