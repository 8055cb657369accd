export * from "./call-report.js";
export * from "./close-codes.js";
export * from "./codec.js";
export * from "./errors.js";
export * from "./messages.js";
export * from "./room-id.js";
