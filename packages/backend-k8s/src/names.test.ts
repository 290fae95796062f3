import { describe, expect, it } from "vitest";
import { isLabelValue, labelValue, objectName } from "./names.js";

describe("names", () => {
  it("keeps simple ids readable and hashes the rest into valid, distinct DNS-1035 labels", () => {
    expect(objectName("abc-123")).toBe("mcp-abc-123");
    const odd = ["UPPER", "a_b", "9starts-with-digit".repeat(5), "x/y", "x y"];
    const names = odd.map(objectName);
    for (const n of names) {
      expect(n).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
      expect(n.length).toBeLessThanOrEqual(63);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(objectName("a_b")).not.toBe(objectName("a-b"));
  });

  it("makes label values valid and keeps distinct inputs distinct", () => {
    const long = "h".repeat(64);
    expect(isLabelValue(labelValue(long))).toBe(true);
    expect(labelValue(long)).not.toBe(labelValue(`${long}x`));
    expect(labelValue("ok.value_1")).toBe("ok.value_1");
    expect(isLabelValue(labelValue("-bad start!"))).toBe(true);
  });
});
