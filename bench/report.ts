/**
 * docs/benchmarks.md and its chart (docs/images/benchmarks.svg), written by
 * `npm run bench` from the sections its scenarios hand back
 * (bench/results.ts). The chart is a plain SVG built here, with no image
 * service, fonts or scripts, and the same sections always give the same
 * bytes so that a rerun's changes show up as a readable diff.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { met, type Row, type Section, type Target } from "./results.js";

export interface ReportMeta {
  /** When the run was made, as it should read on the page (ISO 8601, say). */
  readonly date: string;
  /** The machine, as it should read: "2 vCPU x86_64, 4 GB, Linux 6.8". */
  readonly machine: string;
  /** `process.version` of the run. */
  readonly node: string;
  /** The commit measured. */
  readonly commit: string;
  /** How long the whole run took. */
  readonly seconds: number;
}

// ---------------------------------------------------------------- numbers

/**
 * 1234 → "1,234"; below 1000 three significant digits without trailing
 * zeros (34.7, 1.51, 0.064). Done by hand rather than toLocaleString so
 * the page does not depend on the locale of the machine that ran it.
 */
export function formatNumber(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "-";
  const sign = n < 0 ? "-" : "";
  const abs = Math.abs(n);
  // Rounded first: 999.7 is "1,000", not "1.00e+3".
  const rounded = Number(abs.toPrecision(3));
  if (rounded >= 1000) {
    return sign + String(Math.round(abs)).replace(/\B(?=(\d{3})+$)/g, ",");
  }
  if (rounded === 0) return "0";
  let text = rounded.toPrecision(3);
  // toPrecision switches to exponents below 1e-6; such figures are noise here.
  if (text.includes("e")) text = String(rounded);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return sign + text;
}

/** Ratios always with two decimals, so a column of them lines up. */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? ratio.toFixed(2) : "-";
}

function targetText(target: Target): string {
  return `${target.kind === "max" ? "≤" : "≥"} ${target.value.toFixed(2)}`;
}

/** Each targeted row with the section it belongs to, in report order. */
function targeted(sections: readonly Section[]): { section: Section; row: Row }[] {
  return sections.flatMap((section) =>
    section.rows.filter((row) => row.target !== undefined).map((row) => ({ section, row })),
  );
}

// ---------------------------------------------------------------- SVG

/** Escapes text for XML content and attributes, dropping characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the ones XML cannot carry
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

/** Coordinates to one decimal: enough for a chart, and stable bytes across platforms. */
const px = (n: number) => String(Math.round(n * 10) / 10);

const GREEN = "#1a7f37";
const RED = "#cf222e";
const INK = "#1f2328";
const MUTED = "#59636e";
const GRID = "#d1d9e0";

const WIDTH = 760;
const LEFT = 20;
/** Room after the plot for a full-length bar's ratio label. */
const RIGHT = 64;
const ROW_HEIGHT = 46;
const HEADING_HEIGHT = 28;
const BAR_HEIGHT = 14;

/** A tick step that gives at most about eight ticks from 0 to `max`. */
function tickStep(max: number): number {
  for (const step of [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100]) if (max / step <= 8) return step;
  return 10 ** Math.ceil(Math.log10(max / 8));
}

/**
 * A horizontal bar per targeted row: its ratio (Signalroom / origin design)
 * on a linear scale from 0, a dashed line at 1 (the origin design), and a
 * tick at the target. Linear rather than log because the ratios sit between
 * about 0.5 and 2, where a linear scale reads directly as "a fifth less".
 */
export function chartSvg(sections: readonly Section[]): string {
  const items = targeted(sections);
  const finite = items.map(({ row }) => row.ratio).filter(Number.isFinite);
  const values = [2, ...finite, ...items.map(({ row }) => row.target?.value ?? 0)];
  const step = tickStep(Math.max(...values));
  const max = Math.ceil(Math.max(...values) / step) * step;
  const plotRight = WIDTH - RIGHT;
  const x = (v: number) => LEFT + (Math.max(0, Math.min(v, max)) / max) * (plotRight - LEFT);

  // Shapes first and text last: the text carries a white halo, so that the
  // grid and the origin line passing behind a label do not strike through it.
  const marks: string[] = [];
  const labels: string[] = [];
  let y = 84;
  const plotTop = y;
  let lastSection: Section | undefined;
  for (const { section, row } of items) {
    if (section !== lastSection) {
      labels.push(
        `<text x="${LEFT}" y="${px(y + 16)}" font-size="14" font-weight="600" fill="${INK}">${escapeXml(section.title)}</text>`,
      );
      y += HEADING_HEIGHT;
      lastSection = section;
    }
    const target = row.target as Target;
    const ok = met(row);
    const direction = target.kind === "max" ? "← lower is better" : "higher is better →";
    labels.push(
      `<text x="${LEFT}" y="${px(y + 13)}" font-size="13" fill="${INK}">${escapeXml(row.metric)} <tspan fill="${MUTED}">${direction}</tspan></text>`,
      `<text x="${px(plotRight)}" y="${px(y + 13)}" font-size="12" fill="${MUTED}" text-anchor="end">target ${escapeXml(targetText(target))} · ${ok ? "met" : "not met"}</text>`,
    );
    const barY = y + 20;
    const tx = x(target.value);
    if (Number.isFinite(row.ratio)) {
      const end = x(row.ratio);
      marks.push(
        `<rect class="bar ${ok ? "met" : "not-met"}" x="${LEFT}" y="${px(barY)}" width="${px(end - LEFT)}" height="${BAR_HEIGHT}" rx="2" fill="${ok ? GREEN : RED}"/>`,
      );
      // Past the target tick too when it lies just beyond the bar, or the two collide.
      const after = Math.max(end, tx > end - 2 && tx < end + 44 ? tx + 2 : end) + 6;
      labels.push(
        `<text x="${px(after)}" y="${px(barY + 11.5)}" font-size="13" font-weight="600" fill="${INK}">${formatRatio(row.ratio)}×</text>`,
      );
    } else {
      labels.push(
        `<text x="${LEFT}" y="${px(barY + 11.5)}" font-size="13" fill="${RED}">no figure</text>`,
      );
    }
    marks.push(
      `<line class="target" x1="${px(tx)}" y1="${px(barY - 4)}" x2="${px(tx)}" y2="${px(barY + BAR_HEIGHT + 4)}" stroke="${INK}" stroke-width="2.5"/>`,
    );
    y += ROW_HEIGHT;
  }
  if (items.length === 0) {
    labels.push(
      `<text x="${LEFT}" y="${px(y + 16)}" font-size="13" fill="${MUTED}">no targets</text>`,
    );
    y += ROW_HEIGHT;
  }

  const axisY = y + 4;
  const grid: string[] = [];
  for (let i = 0; i * step <= max + 1e-9; i++) {
    const v = i * step;
    grid.push(
      `<line x1="${px(x(v))}" y1="${px(plotTop)}" x2="${px(x(v))}" y2="${px(axisY)}" stroke="${GRID}" stroke-width="1"/>`,
    );
    labels.push(
      `<text x="${px(x(v))}" y="${px(axisY + 16)}" font-size="12" fill="${MUTED}" text-anchor="middle">${formatNumber(v)}×</text>`,
    );
  }
  grid.push(
    `<line x1="${LEFT}" y1="${px(axisY)}" x2="${px(plotRight)}" y2="${px(axisY)}" stroke="${MUTED}" stroke-width="1"/>`,
  );
  // Over the bars, so that where each one crosses the origin design stays visible.
  marks.push(
    `<line class="origin" x1="${px(x(1))}" y1="${px(plotTop - 6)}" x2="${px(x(1))}" y2="${px(axisY)}" stroke="${INK}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
  );
  labels.push(
    `<text x="${px((LEFT + plotRight) / 2)}" y="${px(axisY + 36)}" font-size="12" fill="${MUTED}" text-anchor="middle">Signalroom ÷ origin design (1× = the origin design, measured in the same run)</text>`,
  );
  const height = axisY + 48;

  const passed = items.filter(({ row }) => met(row)).length;
  const title = "Benchmarks: Signalroom against the origin design, per target";
  const desc = [
    `${passed} of ${items.length} targets met.`,
    ...items.map(
      ({ section, row }) =>
        `${section.title}, ${row.metric}: ratio ${formatRatio(row.ratio)}, target ${row.target?.kind === "max" ? "at most" : "at least"} ${row.target?.value.toFixed(2)}, ${met(row) ? "met" : "not met"}.`,
    ),
  ].join(" ");
  const legendY = 56;
  const legend = [
    `<rect x="${LEFT}" y="${legendY - 10}" width="12" height="12" rx="2" fill="${GREEN}"/>`,
    `<text x="${LEFT + 18}" y="${legendY}" font-size="12" fill="${INK}">met</text>`,
    `<rect x="${LEFT + 56}" y="${legendY - 10}" width="12" height="12" rx="2" fill="${RED}"/>`,
    `<text x="${LEFT + 74}" y="${legendY}" font-size="12" fill="${INK}">not met</text>`,
    `<line x1="${LEFT + 136}" y1="${legendY - 12}" x2="${LEFT + 136}" y2="${legendY + 3}" stroke="${INK}" stroke-width="2.5"/>`,
    `<text x="${LEFT + 144}" y="${legendY}" font-size="12" fill="${INK}">target</text>`,
    `<line x1="${LEFT + 200}" y1="${legendY - 12}" x2="${LEFT + 200}" y2="${legendY + 3}" stroke="${INK}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    `<text x="${LEFT + 208}" y="${legendY}" font-size="12" fill="${INK}">origin design (1×)</text>`,
  ];

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${px(height)}" viewBox="0 0 ${WIDTH} ${px(height)}" role="img" aria-labelledby="bench-title bench-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif">`,
    `<title id="bench-title">${escapeXml(title)}</title>`,
    `<desc id="bench-desc">${escapeXml(desc)}</desc>`,
    // Opaque so that the dark text stays readable on a dark page theme.
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="28" font-size="16" font-weight="600" fill="${INK}">${escapeXml(title)}</text>`,
    ...legend,
    ...grid,
    ...marks,
    `<g stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">`,
    ...labels,
    "</g>",
    "</svg>",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- Markdown

/**
 * Plain text (a metric, a title) in Markdown: `<` would open raw HTML that
 * GitHub drops, and `*`, backticks or brackets would turn into markup.
 */
function plain(text: string): string {
  return text.replace(/[\\`*[\]<]/g, "\\$&");
}

/** A table cell: a pipe or a line break would end the cell or the row. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
}

/** A Markdown table; the first `textColumns` columns left-aligned, the figures right. */
function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  textColumns = 1,
): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < textColumns ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ];
}

/**
 * A row's runs: two decimals when they look like ratios (all below 10), so
 * that 0.8 and 0.81 read alike; otherwise as figures.
 */
function formatRuns(runs: readonly number[]): string {
  const ratios = runs.every((n) => Number.isFinite(n) && Math.abs(n) < 10);
  return runs.map((n) => (ratios ? formatRatio(n) : formatNumber(n))).join(", ");
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min ${s % 60} s` : `${m} min ${s % 60} s`;
}

/** Where the docs say why a target is not met, and show the profiles. */
export const NOT_MET_DOC = "docs/performance.md#the-targets-not-met-and-the-profiles-that-show-why";

/** The whole of docs/benchmarks.md. */
export function markdown(sections: readonly Section[], meta: ReportMeta): string {
  const items = targeted(sections);
  const passed = items.filter(({ row }) => met(row)).length;
  const out: string[] = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench`; do not edit by hand. Every figure is Signalroom against the " +
      "origin design's approach (`ws` on an HTTP server, `JSON.parse` and `JSON.stringify` of every " +
      "message, `bench/baseline-server.ts`), measured in the same run: each scenario starts fresh servers, each its own " +
      "process on 127.0.0.1, and interleaves the contenders' runs, so that both see the same " +
      "machine. A ratio is Signalroom's figure divided by the origin design's: below 1 means less " +
      "of it than the origin design (CPU, latency, memory), above 1 more of it (rooms ready per " +
      "second). Where a raw `ws` forwarder was measured too, it shows the floor any relay on `ws` " +
      `could reach. ${passed} of ${items.length} targets met.`,
    "",
    `![Bar chart of each target's ratio, Signalroom against the origin design: ${passed} of ${items.length} met](images/benchmarks.svg)`,
    "",
    "## Summary",
    "",
    ...table(
      ["scenario", "metric", "ratio", "target", "result"],
      items.map(({ section, row }) => [
        plain(section.title),
        plain(row.metric),
        formatRatio(row.ratio),
        targetText(row.target as Target),
        met(row) ? "met" : "**NOT MET**",
      ]),
      2,
    ),
    ...(passed < items.length
      ? [
          "",
          `Why the targets marked NOT MET are not met, with the profiles that show it: [performance.md](${NOT_MET_DOC.slice("docs/".length)}).`,
        ]
      : []),
  ];

  for (const section of sections) {
    const hasRaw = section.rows.some((r) => r.raw !== undefined);
    out.push("", `## ${plain(section.title)}`, "", section.how.trim(), "");
    out.push(
      ...table(
        ["metric", "origin design", ...(hasRaw ? ["raw ws"] : []), "Signalroom", "ratio", "target"],
        section.rows.map((r) => [
          plain(r.metric),
          formatNumber(r.baseline),
          ...(hasRaw ? [formatNumber(r.raw)] : []),
          formatNumber(r.signalroom),
          formatRatio(r.ratio),
          r.target ? `${targetText(r.target)} ${met(r) ? "met" : "**NOT MET**"}` : "",
        ]),
      ),
    );
    const details = section.rows
      .filter((r) => (r.runs && r.runs.length > 0) || r.note)
      .map((r) => {
        const parts = [
          ...(r.runs && r.runs.length > 0 ? [`runs: ${formatRuns(r.runs)}`] : []),
          ...(r.note ? [r.note.trim()] : []),
        ];
        return `- ${plain(r.metric)}: ${parts.join("; ")}`;
      });
    if (details.length > 0) out.push("", ...details);
    for (const note of section.notes ?? []) out.push("", note.trim());
  }

  const ids = [...new Set(sections.map((s) => s.id))];
  out.push(
    "",
    "## This run",
    "",
    `- Date: ${meta.date}`,
    `- Machine: ${meta.machine}`,
    `- Node: ${meta.node}`,
    `- Commit: \`${meta.commit}\``,
    `- Took: ${duration(meta.seconds)}`,
    "",
    "## Reproduce",
    "",
    "`npm run bench` builds Signalroom, runs every scenario and rewrites this page and its chart. " +
      "Figures depend on the machine; the ratios are what to compare. To rerun one scenario " +
      "against the current build, `npx tsx bench/run.ts <scenario>`" +
      (ids.length > 0
        ? `, where the scenario is one of ${ids.map((id) => `\`${id}\``).join(", ")}.`
        : "."),
    "",
  );
  return out.join("\n");
}

/** Writes `${dir}/benchmarks.md` and `${dir}/images/benchmarks.svg`. */
export async function writeReport(
  sections: readonly Section[],
  meta: ReportMeta,
  dir = "docs",
): Promise<void> {
  await mkdir(join(dir, "images"), { recursive: true });
  await writeFile(join(dir, "images", "benchmarks.svg"), chartSvg(sections));
  await writeFile(join(dir, "benchmarks.md"), markdown(sections, meta));
}
