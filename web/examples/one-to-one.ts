import * as sdk from "signalroom/client";

const { OneToOneCall, SignalingClient } = sdk;
const state = document.getElementById("state") as HTMLElement;
const show = (text: string) => {
  state.textContent = text;
  state.dataset.state = text;
};

// For experiments from the console (and the end-to-end tests): the SDK itself.
(globalThis as { signalroomSdk?: typeof sdk }).signalroomSdk = sdk;

async function main(): Promise<void> {
  const room = new URLSearchParams(location.search).get("room");
  if (!room) return show("add ?room=NAME to the address");

  // 1. Camera and microphone, if any: without them the call still connects and receives.
  const localStream = await localMedia();
  (document.getElementById("local") as HTMLVideoElement).srcObject = localStream;

  // 2. Connect and join.
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const client = new SignalingClient({ url: `${scheme}://${location.host}/ws` });
  await client.connect();
  const joined = await client.join(room);

  // 3. The call: ICE servers come from `joined`, the later joiner offers.
  const call = new OneToOneCall({ signaling: client, localStream });
  call.on("remote-stream", ({ stream }) => {
    (document.getElementById("remote") as HTMLVideoElement).srcObject = stream;
  });
  call.on("state", ({ state: next }) => show(next));
  call.start(joined);
  // For the end-to-end tests: the live call and client.
  Object.assign(globalThis, { exampleCall: call, exampleClient: client });
}

/** Both, else audio only, else video only, else null (the SDK receives both kinds anyway). */
async function localMedia(): Promise<MediaStream | null> {
  for (const constraints of [{ audio: true, video: true }, { audio: true }, { video: true }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // Missing or refused: ask for less.
    }
  }
  return null;
}

main().catch((error: unknown) => show(`error: ${(error as Error).message}`));
