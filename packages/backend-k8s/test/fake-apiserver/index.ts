export { modeForImage, type PodMode } from "./controllers.js";
export { FakeApiServer, type FakeApiServerOptions, type RecordedRequest } from "./server.js";
