/**
 * bench/report.ts: the chart and page `npm run bench` writes, from
 * hand-built sections (no benchmark is run).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  chartSvg,
  escapeXml,
  formatNumber,
  formatRatio,
  markdown,
  writeReport,
} from "../../bench/report.js";
import { row, type Section } from "../../bench/results.js";

const sections: readonly Section[] = [
  {
    id: "steady",
    title: "Relay at a fixed rate",
    how: "100 pairs, 20,000 messages/s, open loop.",
    rows: [
      row("server CPU per message (µs)", 34.7, 27.1, {
        raw: 24.3,
        target: { kind: "max", value: 0.85 },
        runs: [0.81, 0.8, 0.78],
      }),
      row("round trip p99 <ms> & tail", 15.5, 24, {
        raw: 3.9,
        target: { kind: "max", value: 1 },
        note: "noisy | between sittings",
      }),
      row("messages relayed", 1_200_000, 1_200_000),
    ],
    notes: ["Every message arrived, in order."],
  },
  {
    id: "joins",
    title: "Join storm",
    how: "32 loops joining and leaving.",
    rows: [row("rooms ready/s", 1395, 1752, { target: { kind: "min", value: 1.2 } })],
  },
];

const meta = {
  date: "2025-01-02T03:04:05Z",
  machine: "2 vCPU x86_64",
  node: "v20.19.0",
  commit: "abc1234",
  seconds: 754,
};

/**
 * Well-formedness without an XML parser: tags balance, attributes are
 * quoted, and text holds no raw `<` or an `&` outside an entity.
 */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = token.exec(xml); m; m = token.exec(xml)) {
    const text = xml.slice(at, m.index);
    assert.doesNotMatch(text, /<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);)/, text);
    const [, closing, name = "", , selfClosing] = m;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes nothing open`);
    else if (!selfClosing) stack.push(name);
    at = token.lastIndex;
  }
  assert.equal(xml.slice(at).trim(), "", "nothing after the root");
  assert.deepEqual(stack, [], "every tag closed");
}

describe("bench report numbers", () => {
  it("formats figures with grouping from 1000 and three significant digits below", () => {
    assert.equal(formatNumber(1234), "1,234");
    assert.equal(formatNumber(1_200_000), "1,200,000");
    assert.equal(formatNumber(999.7), "1,000");
    assert.equal(formatNumber(34.7), "34.7");
    assert.equal(formatNumber(1.514), "1.51");
    assert.equal(formatNumber(0.064), "0.064");
    assert.equal(formatNumber(223), "223");
    assert.equal(formatNumber(2), "2");
    assert.equal(formatNumber(0), "0");
    assert.equal(formatNumber(-12.34), "-12.3");
    assert.equal(formatNumber(undefined), "-");
    assert.equal(formatNumber(Number.NaN), "-");
    assert.equal(formatRatio(0.7), "0.70");
    assert.equal(formatRatio(Number.POSITIVE_INFINITY), "-");
  });
});

describe("chartSvg", () => {
  const svg = chartSvg(sections);

  it("is a self-contained, accessible, well-formed SVG", () => {
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.match(svg, /<svg [^>]*role="img"/);
    assert.match(svg, /<title id="bench-title">[^<]+<\/title>/);
    assert.match(svg, /<desc id="bench-desc">2 of 3 targets met\. [^<]+<\/desc>/);
    assert.match(svg, /font-family="system-ui,[^"]*sans-serif"/);
    assert.doesNotMatch(svg, /<script|<image|<style|href=|@import|url\(/);
    assertWellFormed(svg);
  });

  it("draws one bar and one target tick per targeted row, green when met, red when not", () => {
    const bars = [...svg.matchAll(/<rect class="bar ([\w-]+)"[^>]* fill="(#\w+)"/g)].map((m) => [
      m[1],
      m[2],
    ]);
    assert.deepEqual(bars, [
      ["met", "#1a7f37"],
      ["not-met", "#cf222e"],
      ["met", "#1a7f37"],
    ]);
    assert.equal(svg.match(/<line class="target"/g)?.length, 3);
    assert.equal(svg.match(/<line class="origin"/g)?.length, 1);
    assert.match(svg, /0\.78×</);
    assert.match(svg, /1\.55×</);
    assert.match(svg, /1\.26×</);
    assert.match(svg, /← lower is better/);
    assert.match(svg, /higher is better →/);
    assert.doesNotMatch(svg, /messages relayed/);
  });

  it("escapes text for XML", () => {
    assert.ok(svg.includes("round trip p99 &lt;ms&gt; &amp; tail"));
    assert.ok(!svg.includes("<ms>"));
    assert.equal(escapeXml(`a<b>&"c'\u0001`), "a&lt;b&gt;&amp;&quot;c&apos;");
  });

  it("gives the same bytes for the same sections", () => {
    assert.equal(chartSvg(sections), svg);
    assert.equal(chartSvg(structuredClone(sections)), svg);
  });

  it("stays well-formed with no targets at all", () => {
    assertWellFormed(chartSvg([]));
    assertWellFormed(chartSvg([{ id: "x", title: "X", how: "", rows: [row("m", 1, 2)] }]));
  });
});

describe("markdown", () => {
  const md = markdown(sections, meta);

  it("has the title, intro, chart and a summary of every target", () => {
    assert.ok(md.startsWith("# Benchmarks\n"));
    assert.match(md, /origin design/);
    assert.match(md, /!\[[^\]]+\]\(images\/benchmarks\.svg\)/);
    assert.match(
      md,
      /\| Relay at a fixed rate \| server CPU per message \(µs\) \| 0\.78 \| ≤ 0\.85 \| met \|/,
    );
    assert.match(
      md,
      /\| Relay at a fixed rate \| round trip p99 \\<ms> & tail \| 1\.55 \| ≤ 1\.00 \| \*\*NOT MET\*\* \|/,
    );
    assert.match(md, /\| Join storm \| rooms ready\/s \| 1\.26 \| ≥ 1\.20 \| met \|/);
  });

  it("has a section per scenario with its how, table, runs and notes", () => {
    for (const s of sections) {
      assert.ok(md.includes(`## ${s.title}\n\n${s.how}\n`));
      for (const r of s.rows) {
        assert.ok(md.includes(`| ${r.metric.replace("<", "\\<")} |`), r.metric);
      }
    }
    assert.match(md, /\| metric \| origin design \| raw ws \| Signalroom \| ratio \| target \|/);
    assert.match(
      md,
      /\| server CPU per message \(µs\) \| 34\.7 \| 24\.3 \| 27\.1 \| 0\.78 \| ≤ 0\.85 met \|/,
    );
    assert.match(md, /\| messages relayed \| 1,200,000 \| - \| 1,200,000 \| 1\.00 \| {2}\|/);
    // The join storm has no raw figure, so no raw column.
    assert.match(
      md,
      /## Join storm[^#]*\| metric \| origin design \| Signalroom \| ratio \| target \|/,
    );
    assert.match(md, /\| rooms ready\/s \| 1,395 \| 1,752 \| 1\.26 \| ≥ 1\.20 met \|/);
    assert.match(md, /- server CPU per message \(µs\): runs: 0\.81, 0\.80, 0\.78/);
    assert.match(md, /- round trip p99 \\<ms> & tail: noisy \| between sittings/);
    assert.ok(md.includes("\nEvery message arrived, in order.\n"));
  });

  it("points to where the docs say why a target is not met, to a heading that exists", async () => {
    const link = /\[performance\.md\]\(performance\.md#([a-z0-9-]+)\)/.exec(md);
    assert.ok(link, "a link to performance.md when a target is not met");
    const doc = await readFile(join(import.meta.dirname, "../../docs/performance.md"), "utf8");
    // GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes.
    const anchors = [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((h) =>
      (h[1] as string)
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, "")
        .replace(/ /g, "-"),
    );
    assert.ok(anchors.includes(link[1] as string), `no heading for #${link[1]}`);
    // With every target met there is nothing to explain.
    const allMet = sections.map((s) => ({
      ...s,
      rows: s.rows.filter(
        (r) => r.target === undefined || r.ratio <= 1.0 || r.target.kind === "min",
      ),
    }));
    const metPage = markdown(allMet, meta);
    assert.match(metPage, /\b([1-9]\d*) of \1 targets met\./);
    assert.doesNotMatch(metPage, /performance\.md/);
  });

  it("ends with the run's particulars and how to reproduce it", () => {
    for (const v of [meta.date, meta.machine, meta.node, meta.commit, "12 min 34 s"]) {
      assert.ok(md.includes(v), v);
    }
    assert.match(md, /npm run bench/);
    assert.match(
      md,
      /npx tsx bench\/run\.ts <scenario>`, where the scenario is one of `steady`, `joins`\./,
    );
    assert.ok(md.endsWith("\n"));
  });
});

describe("writeReport", () => {
  it("writes the page and its chart, creating images/", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bench-report-"));
    try {
      await writeReport(sections, meta, dir);
      assert.equal(await readFile(join(dir, "benchmarks.md"), "utf8"), markdown(sections, meta));
      assert.equal(
        await readFile(join(dir, "images", "benchmarks.svg"), "utf8"),
        chartSvg(sections),
      );
      // Twice over is fine: images/ already exists.
      await writeReport(sections, meta, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
