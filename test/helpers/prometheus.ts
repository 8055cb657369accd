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
