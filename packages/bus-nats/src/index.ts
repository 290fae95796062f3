export { decodeEvent, encodeEvent } from "./codec.js";
export { type NatsBus, type NatsDeadLetter, natsBus } from "./nats-bus.js";
export type { NatsBusOptions } from "./options.js";
