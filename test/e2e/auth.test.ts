import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import type { Signalroom } from "../../src/server/index.js";
import { observed, watch } from "./call-watch.js";
import {
  assertE2eEnvironment,
  assertNoCspViolations,
  launchChromium,
  newPerson,
  startServer,
  waitForStatus,
} from "./harness.js";

const SECRET = "e2e-join-token-secret-0123456789abcdef";

describe("join tokens and host controls in the web app", () => {
  let server: Signalroom;
  let browser: Browser;

  before(async () => {
    assertE2eEnvironment();
    server = await startServer({ overrides: { authSecret: SECRET } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    assertNoCspViolations();
  });

  it("admits invited people, hides the token from the address bar, and lets the host lock and remove", async () => {
    const room = `auth-${Date.now()}`;
    const hostToken = await mintJoinToken(
      { secret: SECRET },
      { room, sub: "ada", name: "Ada", role: "host" },
    );
    const guestToken = await mintJoinToken({ secret: SECRET }, { room, sub: "bob", name: "Bob" });
    const lateToken = await mintJoinToken({ secret: SECRET }, { room, sub: "cy", name: "Cy" });

    // Without a token: a clear refusal in the lobby.
    const stranger = await newPerson(browser);
    await stranger.page.goto(`${server.url}/?room=${room}&name=Sam`);
    await waitForStatus(stranger.page, "unauthorized");
    assert.match((await stranger.page.textContent("#lobby-error")) ?? "", /invitation link/);

    const host = await newPerson(browser);
    // The fragment form: never sent to the server or a proxy log.
    await host.page.goto(`${server.url}/?room=${room}#token=${hostToken}`);
    await waitForStatus(host.page, "waiting");
    assert.equal(
      new URL(host.page.url()).searchParams.get("token"),
      null,
      "token left the address bar",
    );
    assert.equal(await host.page.isVisible("#lock-room"), true, "hosts see the lock button");

    const guest = await newPerson(browser);
    await guest.page.goto(`${server.url}/?room=${room}&token=${guestToken}`);
    await Promise.all([
      waitForStatus(host.page, "connected"),
      waitForStatus(guest.page, "connected"),
    ]);
    assert.equal(await guest.page.isVisible("#lock-room"), false, "guests do not");
    assert.equal(new URL(guest.page.url()).searchParams.get("token"), null, "?token= left it too");
    // The token's name: nobody was asked for one.
    assert.equal(await guest.page.textContent("#local-label"), "Bob (you)");
    assert.equal(await host.page.textContent(".tile.remote .label"), "Bob");
    assert.equal(await guest.page.textContent(".tile.remote .label"), "Ada");

    // Locked: the guest is told so; even an invited third person is refused, and told why.
    await watch(host.page);
    await host.page.click("#lock-room");
    await host.page.waitForSelector('#lock-room[aria-pressed="true"]');
    await guest.page.waitForSelector("#lock-badge", { state: "visible" });
    assert.match((await guest.page.textContent("#toast")) ?? "", /host locked the room/);
    const late = await newPerson(browser);
    await late.page.goto(`${server.url}/?room=${room}&token=${lateToken}`);
    await waitForStatus(late.page, "locked");
    assert.match((await late.page.textContent("#lobby-error")) ?? "", /locked.*ask the host/i);

    // The host removes the guest, after confirming in a dialog; cancelling changes nothing.
    await host.page.click(".tile.remote .kick");
    await host.page.waitForSelector("#confirm-dialog[open]");
    assert.match((await host.page.textContent("#confirm-title")) ?? "", /Remove Bob\?/);
    await host.page.click("#confirm-cancel");
    await host.page.waitForSelector("#confirm-dialog:not([open])", { state: "attached" });
    assert.equal(await host.page.locator(".tile.remote").count(), 1);
    // By keyboard: the safe choice has the focus, Escape closes, focus goes back to Remove.
    await host.page.focus(".tile.remote .kick");
    await host.page.keyboard.press("Enter");
    await host.page.waitForSelector("#confirm-dialog[open]");
    assert.equal(await host.page.evaluate(() => document.activeElement?.id), "confirm-cancel");
    await host.page.keyboard.press("Escape");
    await host.page.waitForSelector("#confirm-dialog:not([open])", { state: "attached" });
    assert.equal(
      await host.page.evaluate(() => document.activeElement?.classList.contains("kick")),
      true,
    );
    await host.page.click(".tile.remote .kick");
    await host.page.click("#confirm-ok");
    await waitForStatus(guest.page, "kicked");
    assert.match((await guest.page.textContent("#ended-text")) ?? "", /removed you/);
    assert.equal(await guest.page.isVisible("#rejoin"), false);
    // The host hears that Bob was removed, not that he left, and waits for others.
    await waitForStatus(host.page, "waiting");
    const seen = await observed(host.page);
    assert.ok(seen.toasts.includes("Bob was removed"), `toasts: ${JSON.stringify(seen.toasts)}`);
    assert.ok(!seen.toasts.includes("Bob left"));

    for (const person of [stranger, host, guest, late]) await person.context.close();
  });
});
