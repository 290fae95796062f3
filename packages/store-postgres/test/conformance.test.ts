import { describeWith, storeConformance } from "@mcpfleet/core/testing";
import { afterAll, beforeAll } from "vitest";
import { postgresStore } from "../src/index.js";
import { postgresService, schemaName, throwawayDatabase } from "./helpers.js";

const pgService = await postgresService();

describeWith([pgService], "postgresStore on a real PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  const schema = schemaName("conf");
  beforeAll(async () => {
    db = await throwawayDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  storeConformance("postgresStore", () => postgresStore({ connectionString: db.url }, { schema }), {
    reopen: () => postgresStore({ connectionString: db.url }, { schema }),
    query: true,
    templates: true,
    leases: true,
    keys: true,
    records: true,
  });
});
