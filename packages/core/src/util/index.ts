export * from "./async.js";
export * from "./scope-cache.js";
export * from "./stable-json.js";
