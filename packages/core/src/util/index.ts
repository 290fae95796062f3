export * from "./async.js";
export * from "./stable-json.js";
