import { readdirSync, readFileSync } from "node:fs";

/** Copy of shared/fixtures/seeds (kept in the package so CI does not depend on the sibling folder). */
export const SEEDS_DIR = new URL("../fixtures/seeds/", import.meta.url);

export function seed<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, SEEDS_DIR), "utf8")) as T;
}

export const SEED_FILES = readdirSync(SEEDS_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();
