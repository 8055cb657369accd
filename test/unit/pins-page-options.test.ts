import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { readPageOptions, roomPath } from "../../web/src/page-options.js";

/**
 * The browser globals `page-options.ts` reads (the address, the two
 * storages, the history), as plain objects: the module runs as it does in
 * a page, only the page is this test's.
 */
class MemoryStorage {
  readonly #items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, value);
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
}

const page = {
  location: { pathname: "/", search: "", hash: "" },
  replaced: [] as string[],
};

function openPage(address: string): void {
  const url = new URL(address, "https://signalroom.test");
  page.location.pathname = url.pathname;
  page.location.search = url.search;
  page.location.hash = url.hash;
}

beforeEach(() => {
  page.replaced.length = 0;
  openPage("/");
  Object.assign(globalThis, {
    location: page.location,
    sessionStorage: new MemoryStorage(),
    localStorage: new MemoryStorage(),
    history: {
      replaceState: (_state: unknown, _title: string, url: string) => page.replaced.push(url),
    },
  });
});

describe("?quality=low (the web app's camera cap for slow uplinks)", () => {
  it("turns low quality on", () => {
    openPage("/?room=standup&quality=low");
    assert.equal(readPageOptions().lowQuality, true);
  });

  it("is off without it, and for any other value", () => {
    for (const address of ["/?room=standup", "/?room=standup&quality=high", "/?quality=LOW"]) {
      openPage(address);
      assert.equal(readPageOptions().lowQuality, false, address);
    }
  });

  it("survives the address bar being cleaned of a token", () => {
    openPage("/?room=standup&quality=low#token=abc.def.ghi");
    const options = readPageOptions();
    assert.equal(options.lowQuality, true);
    assert.deepEqual(page.replaced, ["/?room=standup&quality=low"]);
  });

  it("is kept in a room's link", () => {
    assert.equal(
      roomPath("standup", { relayOnly: false, lowQuality: true }),
      "/?room=standup&quality=low",
    );
    assert.equal(roomPath("standup", { relayOnly: false, lowQuality: false }), "/?room=standup");
  });
});
