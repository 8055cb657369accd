import assert from "node:assert/strict";
import parsePrometheusTextFormat, { type MetricFamily } from "parse-prometheus-text-format";

/** Every sample of a scrape as `name{label="v",…}` → value (histograms: `_count` and `_sum`). */
export type Samples = Map<string, number>;

export function samples(families: readonly MetricFamily[]): Samples {
  const out: Samples = new Map();
  for (const family of families) {
    for (const sample of family.metrics) {
      const labels = Object.entries(sample.labels ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join(",");
      const key = (suffix: string) => `${family.name}${suffix}${labels ? `{${labels}}` : ""}`;
      if (sample.value !== undefined) out.set(key(""), Number(sample.value));
      // A histogram's count is its +Inf bucket.
      const all = sample.buckets?.["+Inf"];
      if (all !== undefined) {
        out.set(key("_count"), Number(all));
        out.set(key("_sum"), Number(sample.sum));
      }
    }
  }
  return out;
}

/** What moved between two scrapes (only series that moved). */
export function delta(before: Samples, after: Samples): Record<string, number> {
  const moved: Record<string, number> = {};
  for (const [key, value] of after) {
    const change = value - (before.get(key) ?? 0);
    if (change !== 0) moved[key] = change;
  }
  return moved;
}

/** Scrapes `/metrics` of one server, read by a real Prometheus text parser. */
export async function scrape(
  httpUrl: string,
  token?: string,
): Promise<{ families: MetricFamily[]; samples: Samples }> {
  const res = await fetch(`${httpUrl}/metrics`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text());
  return { families, samples: samples(families) };
}

/** The samples of every node of a cluster, added up (one node: its own). */
export async function scrapeAll(httpUrls: readonly string[], token?: string): Promise<Samples> {
  const sum: Samples = new Map();
  for (const url of httpUrls) {
    for (const [key, value] of (await scrape(url, token)).samples) {
      sum.set(key, (sum.get(key) ?? 0) + value);
    }
  }
  return sum;
}

/**
 * Calls reported connected from a host candidate to a host one, out of a
 * `delta`. The far side's candidate is "prflx" when its connectivity check
 * arrives before its trickled candidate does (RFC 8445 §7.3.1.3): on
 * loopback that is the same host address, learned first from the check.
 * Which arrives first is a race, not the server's, so both count.
 */
export function hostPairsConnected(moved: Record<string, number>): number {
  const pair = (remote: string) =>
    `signalroom_calls_total{outcome="connected",local="host",remote="${remote}"}`;
  return (moved[pair("host")] ?? 0) + (moved[pair("prflx")] ?? 0);
}
