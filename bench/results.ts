/**
 * What each scenario of `npm run bench` hands back, for the console and
 * for docs/benchmarks.md (bench/report.ts): figures per contender and the
 * ratio of Signalroom's against the origin design's, measured in the same
 * run, with the target where there is one.
 */

/** A target on the ratio signalroom / baseline. */
export interface Target {
  /** `max`: the ratio must be at most `value` (lower is better); `min`: at least. */
  readonly kind: "max" | "min";
  readonly value: number;
}

export interface Row {
  /** What is measured, with its unit: "server CPU per relayed message (µs)". */
  readonly metric: string;
  readonly baseline: number;
  readonly signalroom: number;
  /** The raw `ws` forwarder, where it was measured (for scale). */
  readonly raw?: number;
  /** signalroom / baseline; for `min` targets too (higher is better there). */
  readonly ratio: number;
  readonly target?: Target;
  /** Each run's ratio (or figure, see `note`) where the row is a median of several. */
  readonly runs?: readonly number[];
  readonly note?: string;
}

export interface Section {
  /** Short id: "steady", "saturation", "idle", "joins", "churn". */
  readonly id: string;
  readonly title: string;
  /** How it was measured, one paragraph of Markdown. */
  readonly how: string;
  readonly rows: readonly Row[];
  /** Extra lines of Markdown after the table (a leak check's verdict, say). */
  readonly notes?: readonly string[];
}

/** Whether a row meets its target (true when it has none). */
export function met(row: Row): boolean {
  if (!row.target || !Number.isFinite(row.ratio)) return row.target === undefined;
  return row.target.kind === "max" ? row.ratio <= row.target.value : row.ratio >= row.target.value;
}

export function row(
  metric: string,
  baseline: number,
  signalroom: number,
  extra: { raw?: number; target?: Target; runs?: readonly number[]; note?: string } = {},
): Row {
  return { metric, baseline, signalroom, ratio: signalroom / baseline, ...extra };
}

const fmt = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n)
    ? "-"
    : Math.abs(n) >= 100
      ? n.toFixed(0)
      : Math.abs(n) >= 10
        ? n.toFixed(1)
        : n.toFixed(2);

/** Prints a section as a console table, each target as met or NOT MET. */
export function printSection(section: Section): void {
  const hasRaw = section.rows.some((r) => r.raw !== undefined);
  console.log(`\n${section.title}`);
  console.log(
    `${"metric".padEnd(44)}${"origin".padStart(10)}${hasRaw ? "raw ws".padStart(10) : ""}${"signalroom".padStart(12)}${"ratio".padStart(8)}  target`,
  );
  for (const r of section.rows) {
    const target = r.target
      ? `${r.target.kind === "max" ? "<=" : ">="} ${r.target.value.toFixed(2)} ${met(r) ? "met" : "NOT MET"}`
      : "";
    console.log(
      `${r.metric.padEnd(44)}${fmt(r.baseline).padStart(10)}${hasRaw ? fmt(r.raw).padStart(10) : ""}${fmt(r.signalroom).padStart(12)}${r.ratio.toFixed(2).padStart(8)}  ${target}`,
    );
  }
  for (const note of section.notes ?? []) console.log(note);
}
