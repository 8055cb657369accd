export * from "./close-codes.js";
export * from "./codec.js";
export * from "./errors.js";
export * from "./messages.js";
export * from "./room-id.js";

/** Version of the wire protocol this package speaks. */
export const PROTOCOL_VERSION = 1;
