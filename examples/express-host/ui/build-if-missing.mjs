// `pnpm start` straight after `pnpm install`: builds the dashboard (ui/dist) once when it is not there yet.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
if (!existsSync(`${here}dist/index.html`)) {
  process.stderr.write("mcpfleet: building the dashboard (ui/dist) for /ui…\n");
  try {
    const { build } = await import("vite");
    await build({ configFile: `${here}vite.config.ts`, logLevel: "warn" });
  } catch (err) {
    process.stderr.write(
      `mcpfleet: the dashboard did not build (${err?.message ?? err}); the host starts without it\n`,
    );
  }
}
