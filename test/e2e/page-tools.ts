import type { BrowserContext, Page } from "playwright-core";

/* Helpers for the web app's own tests: devices that fail, what a page shows. */

/**
 * Makes `getUserMedia` fail with NotFoundError for the `missing` kinds in
 * every page of `context`, and counts its calls. Chromium's fake-device
 * flags give a camera and a microphone or nothing at all; they cannot
 * take one away, hence this wrapper. `page.evaluate(() =>
 * __media.missing.clear())` then plays "the person plugged it in".
 */
export async function withMissingDevices(
  context: BrowserContext,
  missing: ("audio" | "video")[],
): Promise<void> {
  // Plain script text: nothing of the test's transpiler reaches the page.
  await context.addInitScript({
    content: `(() => {
      const devices = navigator.mediaDevices;
      const real = devices.getUserMedia.bind(devices);
      const state = { missing: new Set(${JSON.stringify(missing)}), calls: [] };
      globalThis.__media = state;
      devices.getUserMedia = async (constraints) => {
        const asked = ["audio", "video"].filter((k) => constraints && constraints[k]);
        state.calls.push(asked.join("+"));
        if (asked.some((k) => state.missing.has(k))) {
          throw new DOMException("Requested device not found", "NotFoundError");
        }
        return real(constraints);
      };
    })();`,
  });
}

/** The getUserMedia calls a page made (`audio+video`, `audio`, ...); needs {@link withMissingDevices}. */
export async function mediaCalls(page: Page): Promise<string[]> {
  return page.evaluate(() => [
    ...(globalThis as unknown as { __media: { calls: string[] } }).__media.calls,
  ]);
}

/** Lets the page's wrapped getUserMedia find every device from now on. */
export async function plugDevicesIn(page: Page): Promise<void> {
  await page.evaluate(() =>
    (globalThis as unknown as { __media: { missing: Set<string> } }).__media.missing.clear(),
  );
}

/** How many lines an element's text takes on screen. */
export async function linesOf(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    return tops.size;
  });
}

/**
 * What share of a video element's picture is on screen (1 when shown
 * whole, less when `object-fit: cover` crops it), and the element's box.
 */
export async function videoVisibleShare(
  page: Page,
  selector: string,
): Promise<{ share: number; width: number; height: number; fit: string }> {
  return page.$eval(selector, (element) => {
    const video = element as HTMLVideoElement;
    const box = video.getBoundingClientRect();
    const fit = getComputedStyle(video).objectFit;
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (!vw || !vh) return { share: 0, width: box.width, height: box.height, fit };
    if (fit !== "cover") return { share: 1, width: box.width, height: box.height, fit };
    const scale = Math.max(box.width / vw, box.height / vh);
    const share = Math.min(1, box.width / (vw * scale)) * Math.min(1, box.height / (vh * scale));
    return { share, width: box.width, height: box.height, fit };
  });
}

/** Waits until the remote video in `selector` has a picture (its size is known). */
export async function waitForPicture(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (s) => ((document.querySelector(s) as HTMLVideoElement | null)?.videoWidth ?? 0) > 0,
    selector,
    { timeout: 20_000 },
  );
}
