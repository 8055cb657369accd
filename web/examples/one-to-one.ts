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

  // 1. Camera first, so the call has something to send.
  const localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
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

main().catch((error: unknown) => show(`error: ${(error as Error).message}`));
