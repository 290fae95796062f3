import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FleetError } from "@mcpfleet/core";
import express, { type Express, type Request, type Response } from "express";
import { sendProblem } from "./problem.js";

/** Where `pnpm --filter @mcpfleet/example-express-host build:ui` writes the dashboard (Vite's outDir). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../ui/dist", import.meta.url));

/**
 * The dashboard's policy: scripts, styles and connections only from this origin (no inline script or style,
 * no CDN), never framed.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Serves the built dashboard at `/ui`: hashed files under `/ui/assets/` are immutable (cached for a year),
 * `index.html` is revalidated on every load, and any other path under `/ui` that is not a file gets
 * `index.html` (the app routes in the browser). The dashboard uses only the public API with the key the
 * person logs in with, so these files are public.
 */
export function mountDashboard(app: Express, dir: string = DEFAULT_DASHBOARD_DIR): void {
  const index = join(dir, "index.html");
  const setHeaders = (res: Response, path: string) => {
    res.setHeader("Content-Security-Policy", DASHBOARD_CSP);
    res.setHeader(
      "Cache-Control",
      path.startsWith(join(dir, "assets")) ? "public, max-age=31536000, immutable" : "no-cache",
    );
  };
  app.use("/ui", express.static(dir, { index: false, redirect: false, cacheControl: false, setHeaders }));
  app.get(["/ui", "/ui/*rest"], (req: Request, res: Response) => {
    if (!existsSync(index)) {
      sendProblem(
        res,
        new FleetError(
          "UNSUPPORTED",
          "the dashboard is not built: run `pnpm --filter @mcpfleet/example-express-host build:ui`",
        ),
      );
      return;
    }
    // a missing asset is a 404, not the app (a stale tab asking for an old chunk must not get HTML)
    if (req.path.startsWith("/ui/assets/")) {
      sendProblem(res, new FleetError("NOT_FOUND", `no file ${req.path}`, { path: req.path }));
      return;
    }
    setHeaders(res, index);
    res.type("html").sendFile(index, { cacheControl: false });
  });
}
