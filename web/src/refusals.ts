import type { SignalroomError } from "signalroom/client";
import type { StatusKey } from "./view.js";

/** What a person is told when a room does not let them in, and the status it shows. */
export function joinRefusal(
  roomId: string,
  error: SignalroomError & { capacity?: unknown },
): { status: StatusKey; text: string; detail?: string } {
  if (error.code === "room-full") {
    const capacity = typeof error.capacity === "number" ? error.capacity : undefined;
    const size =
      capacity === undefined
        ? "This call is full"
        : `This call already has ${capacity} people, as many as it holds`;
    return {
      status: "full",
      text: `${size}. Ask the person who invited you to make room (or to start a bigger call), then join again.`,
    };
  }
  if (error.code === "forbidden" && /locked/.test(error.message)) {
    return {
      status: "locked",
      text: "This call is locked: its host is not letting anyone else in. Ask the host to unlock it, then join again.",
    };
  }
  if (error.code === "unauthorized" || error.code === "forbidden") {
    return {
      status: "unauthorized",
      text: `You need an invitation link for room “${roomId}” (${error.message}).`,
    };
  }
  return { status: "error", text: error.message, detail: error.message };
}

/** How a toast says that someone is gone, by the server's `peer-left` reason. */
export function goneText(name: string, reason: string | undefined): string {
  if (reason === "kicked") return `${name} was removed`;
  if (reason === "dropped") return `${name} lost the connection`;
  return `${name} left`;
}
