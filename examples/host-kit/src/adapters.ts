import { FleetError } from "@mcpfleet/core";

/**
 * Loads a named export of an optional adapter package with a dynamic `import()`, so the host starts
 * with only the adapters its configuration names (a broken or absent adapter only matters when chosen).
 * The specifier is a variable on purpose: the typechecker does not tie the host to every adapter's
 * current source.
 */
export async function loadExport<T = (...args: any[]) => any>(pkg: string, name: string, why: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    const specifier: string = pkg;
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    throw new FleetError(
      "RUNTIME_UNAVAILABLE",
      `${why} needs ${pkg}, which failed to load: ${(err as Error).message}`,
      {
        path: pkg,
        isRetryable: false,
        cause: err,
      },
    );
  }
  const value = mod[name];
  if (value === undefined) {
    throw new FleetError("UNSUPPORTED", `${why} needs ${pkg} to export "${name}", which it does not (yet)`, {
      path: `${pkg}#${name}`,
      isRetryable: false,
    });
  }
  return value as T;
}

/** Same as `loadExport` but resolves undefined when the package or export is missing. */
export async function tryLoadExport<T = (...args: any[]) => any>(pkg: string, name: string): Promise<T | undefined> {
  try {
    return await loadExport<T>(pkg, name, "optional feature");
  } catch {
    return undefined;
  }
}
