import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { echoFleet } from "./echo-fleet.js";

const pkg = new URL("../../", import.meta.url);
const readme = readFileSync(new URL("README.md", pkg), "utf8");

/** Every `<!-- file: <path> -->` marker of the README with the fenced code block right after it. */
function includedBlocks(): { path: string; code: string }[] {
  const out: { path: string; code: string }[] = [];
  const marker = /<!-- file: (\S+) -->\n```[a-z]*\n([\s\S]*?)```\n/g;
  for (const m of readme.matchAll(marker)) out.push({ path: m[1]!, code: m[2]! });
  return out;
}

describe("core README: the 'Writing a runtime' guide cannot drift", () => {
  it("includes the guide's files verbatim (the code this folder compiles and runs)", () => {
    const blocks = includedBlocks();
    expect(blocks.map((b) => b.path)).toEqual([
      "test/docs/echo-runtime.ts",
      "test/docs/echo-fleet.ts",
      "test/docs/echo-runtime.test.ts",
    ]);
    for (const b of blocks) expect(b.code, b.path).toBe(readFileSync(new URL(b.path, pkg), "utf8"));
  });

  it("the guide's fleet runs an instance of the new spec type and its endpoint answers", async () => {
    expect(await echoFleet("hello from echo")).toBe("hello from echo");
  });
});
