import type { MeshPeer } from "signalroom/client";
import { describeStats, STAT_ROWS, type StatKey, summarizeStats, UNKNOWN } from "./call-stats.js";
import { NAMELESS } from "./tiles.js";
import { setPressed, view } from "./view.js";

/** How often an open panel reads getStats(); "loss, last second" assumes about this. */
export const STATS_INTERVAL_MS = 1000;

interface PersonTable {
  readonly table: HTMLTableElement;
  readonly caption: HTMLTableCaptionElement;
  readonly cells: Record<StatKey, HTMLTableCellElement>;
}

/** Their name, else a short id: two nameless guests stay apart. */
function personName(peer: MeshPeer): string {
  return peer.name || `${NAMELESS} ${peer.peerId.slice(0, 6)}`;
}

/** Unchanged text is not written again: no needless DOM mutation every second. */
function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

function personTable(peerId: string): PersonTable {
  const table = document.createElement("table");
  table.className = "stats-person";
  table.dataset.peerId = peerId;
  const caption = table.createCaption();
  const body = table.createTBody();
  const cells = {} as Record<StatKey, HTMLTableCellElement>;
  for (const [key, heading] of STAT_ROWS) {
    const row = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = heading;
    row.append(th);
    const td = row.insertCell();
    td.dataset.stat = key;
    cells[key] = td;
  }
  return { table, caption, cells };
}

/**
 * The call statistics panel: per remote person, what their connection's
 * getStats() says, refreshed about once a second while the panel is open.
 * Closed, it keeps no timer and asks nothing: getStats() is not free, and
 * in a mesh call there is one connection per person.
 */
export class StatsPanel {
  readonly #peers: () => readonly MeshPeer[];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped on every open and close, so a poll still in flight when it closes renders nothing. */
  #generation = 0;
  /** Each connection's previous report, for the rates; emptied on close (a stale one would average over the gap). */
  readonly #previous = new Map<string, RTCStatsReport>();
  readonly #tables = new Map<string, PersonTable>();

  /** `peers`: the call's remote people now (none without a call). */
  constructor(peers: () => readonly MeshPeer[]) {
    this.#peers = peers;
    this.#renderButton();
  }

  get isOpen(): boolean {
    return !view.statsPanel.hidden;
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  open(): void {
    if (this.isOpen) return;
    // Until the first poll is in, the empty note must not claim the call is empty.
    view.statsEmpty.hidden = this.#peers().length > 0;
    view.statsPanel.hidden = false;
    this.#renderButton();
    const generation = ++this.#generation;
    void this.#poll(generation);
  }

  close(): void {
    if (!this.isOpen) return;
    // Focus inside a panel that hides would fall to the page's body.
    if (view.statsPanel.contains(document.activeElement)) view.toggleStats.focus();
    view.statsPanel.hidden = true;
    this.#renderButton();
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#previous.clear();
    for (const { table } of this.#tables.values()) table.remove();
    this.#tables.clear();
  }

  async #poll(generation: number): Promise<void> {
    const peers = [...this.#peers()];
    const reports = await Promise.all(
      peers.map((peer) => peer.peerConnection.getStats().catch(() => null)),
    );
    if (generation !== this.#generation) return;
    this.#render(peers, reports);
    this.#timer = setTimeout(() => void this.#poll(generation), STATS_INTERVAL_MS);
  }

  #render(peers: readonly MeshPeer[], reports: readonly (RTCStatsReport | null)[]): void {
    const here = new Set(peers.map((p) => p.peerId));
    for (const [peerId, { table }] of this.#tables) {
      if (here.has(peerId)) continue;
      table.remove();
      this.#tables.delete(peerId);
      this.#previous.delete(peerId);
    }
    peers.forEach((peer, i) => {
      let entry = this.#tables.get(peer.peerId);
      if (!entry) {
        entry = personTable(peer.peerId);
        this.#tables.set(peer.peerId, entry);
      }
      // Moved only when out of place: a screen reader's cursor in the panel stays put.
      const at = view.statsPeople.children[i] ?? null;
      if (at !== entry.table) view.statsPeople.insertBefore(entry.table, at);
      setText(entry.caption, personName(peer));
      const report = reports[i] ?? null;
      const text = report
        ? describeStats(summarizeStats(report, this.#previous.get(peer.peerId)))
        : null;
      if (report) this.#previous.set(peer.peerId, report);
      for (const [key] of STAT_ROWS) {
        setText(entry.cells[key], text ? text[key] : UNKNOWN);
      }
    });
    view.statsEmpty.hidden = peers.length > 0;
  }

  #renderButton(): void {
    setPressed(
      view.toggleStats,
      this.isOpen,
      this.isOpen ? "Hide call statistics (I)" : "Show call statistics (I)",
    );
  }
}

/** Typing a name or a message must not open the panel. */
function isTyping(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || target.closest("input, textarea, select") !== null)
  );
}

/**
 * `i` toggles the panel and Escape closes it, while the call shows and
 * nothing else (the confirmation dialog, the end-of-call overlay) has the
 * keyboard.
 */
export function bindStatsKeys(panel: StatsPanel): void {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (view.call.hidden || !view.ended.hidden || view.confirmDialog.open) return;
    if (isTyping(event.target)) return;
    if ((event.key === "i" || event.key === "I") && !event.repeat) {
      event.preventDefault();
      panel.toggle();
    } else if (event.key === "Escape" && panel.isOpen) {
      event.preventDefault();
      panel.close();
    }
  });
}
