/**
 * The bot's telemetry, for `/metrics` (Prometheus text, 0.0.4): counters and gauges fed by the
 * pieces of a run and read at scrape time.
 *
 * - Fed as they happen, by plain increments (nothing awaits, nothing throws): REST answers by
 *   Upbit rate-limit group (the transport's `onAnswer`), the loop's lag and each market's data
 *   age (`LoopMetrics`, from the trader), orders by state (`OrderTrace`, from the order manager)
 *   and fills (the event stream).
 * - Read at scrape time: the market stream's own counters (reconnects, frames), the intents in
 *   flight (the store), the Telegram outbox's backlog (the journal after its cursor) and the
 *   process's memory (injected: `Deno.memoryUsage` at the edge).
 *
 * Every label set is bounded: markets, groups, states and sides are small closed sets, and each
 * family keeps at most `MAX_SERIES` series whatever it is fed. No label carries a secret.
 */

import { formatKrw } from "./core/format.ts";
import { baseCurrency } from "./core/market.ts";
import { formatUnits } from "./core/money.ts";
import type { Logger } from "./log.ts";
import {
  type Clock,
  type EngineEvent,
  type Intent,
  INTENT_STATES,
  type IntentState,
  type JournalEntry,
  LIVE_INTENT_STATES,
  type LoopMetrics,
  type MarketEvent,
  type OrderTrace,
} from "./ports.ts";

/** Every family's name starts with this. */
export const METRIC_PREFIX = "upbit_trader_";

/** Series one family keeps at most (a bug feeding odd labels cannot grow memory). */
export const MAX_SERIES = 256;

/** The loop-lag histogram's upper bounds, seconds. */
export const LAG_BUCKETS_S: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** The outbox backlog is counted up to this many events (more reads as this many). */
export const OUTBOX_DEPTH_CAP = 1_000;

/** Label names and values of one sample. */
export type Labels = Readonly<Record<string, string>>;

/** One sample: labels, value (null: left out) and an optional name suffix (`_bucket`). */
export type Sample = readonly [labels: Labels, value: number | null, suffix?: string];

/** What `/metrics` appends to the status's figures. */
export interface MetricsSource {
  /** The families as Prometheus text (never throws: a failing source leaves its samples out). */
  text(): Promise<string>;
}

/** A Prometheus text document, family by family; label values escaped. */
export class PromText {
  readonly #lines: string[] = [];

  /** Adds one family (`name` without the prefix): HELP, TYPE, then each sample with a value. */
  family(
    name: string,
    type: "gauge" | "counter" | "histogram",
    help: string,
    samples: Iterable<Sample>,
  ): this {
    const full = METRIC_PREFIX + name;
    this.#lines.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    for (const [labels, value, suffix] of samples) {
      if (value !== null) {
        this.#lines.push(`${full}${suffix ?? ""}${labelText(labels)} ${numberText(value)}`);
      }
    }
    return this;
  }

  /** The document, newline-terminated. */
  text(): string {
    return this.#lines.length === 0 ? "" : this.#lines.join("\n") + "\n";
  }
}

/**
 * A label value with `\`, `"` and newlines escaped (Prometheus' rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function numberText(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}

/** Counters keyed by a bounded set of label sets. */
class Counters {
  readonly #series = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels, by = 1): void {
    const key = Object.values(labels).join("\u0000");
    const s = this.#series.get(key);
    if (s !== undefined) s.value += by;
    else if (this.#series.size < MAX_SERIES) this.#series.set(key, { labels, value: by });
  }

  samples(): Sample[] {
    return [...this.#series.values()].map((s) => [s.labels, s.value] as const);
  }

  /** The sum over the series whose labels match `where`. */
  sum(where: Labels): number {
    let total = 0;
    for (const s of this.#series.values()) {
      if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }
}

/** One market's loop lag and data age. */
interface MarketTimes {
  /** Non-cumulative counts per bucket of `LAG_BUCKETS_S`, then +Inf. */
  readonly buckets: number[];
  lagSumS: number;
  lagCount: number;
  /** Exchange time of the newest data handled. */
  dataAtMs: number;
}

/** The market stream's counters (`MarketStream.status()`). */
export interface StreamCounters {
  readonly connected: boolean;
  readonly reconnects: number;
  readonly failedConnects: number;
  readonly stalls: number;
  readonly messages: number;
  readonly malformed: number;
}

/** The Telegram outbox as the metrics read it. */
export interface OutboxView {
  /** Its cursor (the last journal id handled) and its send counters. */
  stats(): {
    readonly cursor: string | undefined;
    readonly sent: number;
    readonly failures: number;
  };
  /** The journal it follows. */
  readonly journal: {
    read(options: { readonly afterId?: string; readonly limit: number }): Promise<
      readonly JournalEntry[]
    >;
  };
}

/** The process's memory, bytes (`Deno.memoryUsage()`). */
export interface MemoryUsage {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
}

/** Options of `Telemetry`. */
export interface TelemetryOptions {
  /** The bot's clock (loop lag and data age are on it; the demo's runs `speed` times faster). */
  readonly clock: Clock;
  /** The process's memory (absent: no memory samples). */
  readonly memory?: () => MemoryUsage;
}

const MINUTE_MS = 60_000;

/** The run's counters and scrape-time sources; `text()` renders them. */
export class Telemetry implements LoopMetrics, MetricsSource {
  readonly #clock: Clock;
  readonly #memory: (() => MemoryUsage) | undefined;
  readonly #rest = new Counters();
  readonly #orders = new Counters();
  readonly #fills = new Counters();
  readonly #fillFunds = new Counters();
  readonly #markets = new Map<string, MarketTimes>();
  #stream: (() => StreamCounters) | undefined;
  #inFlight: (() => Promise<readonly Pick<Intent, "state">[]>) | undefined;
  #outbox: OutboxView | undefined;

  /** Counts on `options.clock`; reads memory through `options.memory`. */
  constructor(options: TelemetryOptions) {
    this.#clock = options.clock;
    this.#memory = options.memory;
  }

  /** One REST answer of `group` with HTTP `status` (0: no answer: timeout, reset, refused). */
  restAnswer(group: string, status: number): void {
    const code = status === 0
      ? "error"
      : status === 429 || status === 418
      ? String(status)
      : `${Math.floor(status / 100)}xx`;
    this.#rest.add({ group, code });
  }

  /** The loop finished `event`: a price's lag, and the market's newest data time. */
  handled(event: MarketEvent): void {
    if (event.kind === "connection") return;
    let m = this.#markets.get(event.market);
    if (m === undefined) {
      if (this.#markets.size >= MAX_SERIES) return;
      m = {
        buckets: new Array(LAG_BUCKETS_S.length + 1).fill(0),
        lagSumS: 0,
        lagCount: 0,
        dataAtMs: 0,
      };
      this.#markets.set(event.market, m);
    }
    let dataAtMs: number;
    if (event.kind === "price") {
      dataAtMs = event.atMs;
      const lagS = Math.max(0, this.#clock.nowMs() - event.atMs) / 1000;
      let i = 0;
      while (i < LAG_BUCKETS_S.length && lagS > LAG_BUCKETS_S[i]!) i++;
      m.buckets[i]!++;
      m.lagSumS += lagS;
      m.lagCount++;
    } else {
      dataAtMs = event.candle.startMs + MINUTE_MS;
    }
    if (dataAtMs > m.dataAtMs) m.dataAtMs = dataAtMs;
  }

  /** An intent was committed in its state (counted when the state changed). */
  orderStored(intent: Intent, from: IntentState | undefined): void {
    if (from !== intent.state) this.#orders.add({ state: intent.state });
  }

  /** An engine event: fills are counted. */
  noteEvent(event: EngineEvent): void {
    if (event.type !== "OrderFilled") return;
    const labels = { market: event.market, side: event.side };
    this.#fills.add(labels);
    this.#fillFunds.add(labels, Number(event.funds));
  }

  /** Reads the market stream's counters at each scrape. */
  watchStream(status: () => StreamCounters): void {
    this.#stream = status;
  }

  /** Reads the intents in flight at each scrape (the store's `NEW`/`UNKNOWN`/`OPEN` ones). */
  watchOrders(inFlight: () => Promise<readonly Pick<Intent, "state">[]>): void {
    this.#inFlight = inFlight;
  }

  /** Reads the Telegram outbox's backlog at each scrape. */
  watchOutbox(outbox: OutboxView): void {
    this.#outbox = outbox;
  }

  /** Every family as Prometheus text. */
  async text(): Promise<string> {
    const out = new PromText();
    this.#restText(out);
    this.#streamText(out);
    this.#loopText(out);
    await this.#orderText(out);
    await this.#outboxText(out);
    const mem = this.#memory?.();
    out.family("rss_bytes", "gauge", "Resident memory of the process, bytes.", [
      [{}, mem?.rss ?? null],
    ]);
    out.family("heap_used_bytes", "gauge", "V8 heap in use, bytes.", [[{}, mem?.heapUsed ?? null]]);
    out.family("heap_total_bytes", "gauge", "V8 heap reserved, bytes.", [
      [{}, mem?.heapTotal ?? null],
    ]);
    return out.text();
  }

  #restText(out: PromText): void {
    const rest = this.#rest.samples();
    out.family(
      "rest_requests_total",
      "counter",
      "Upbit REST calls by rate-limit group and answer (2xx, 4xx, 429, 418, 5xx; error: none).",
      rest,
    );
    out.family(
      "rest_rate_limited_total",
      "counter",
      "Upbit REST answers 429 (too many) and 418 (blocked) by rate-limit group.",
      rest.filter(([l]) => l.code === "429" || l.code === "418")
        .map(([l, v]) => [{ group: l.group!, status: l.code! }, v] as const),
    );
  }

  #streamText(out: PromText): void {
    const s = this.#stream?.();
    const one = (v: number | undefined): Sample[] => [[{}, v ?? null]];
    out.family("ws_connected", "gauge", "1 while the market WebSocket is open and subscribed.", [
      [{}, s === undefined ? null : s.connected ? 1 : 0],
    ]);
    out.family(
      "ws_reconnects_total",
      "counter",
      "Market WebSocket opens after the first.",
      one(s?.reconnects),
    );
    out.family(
      "ws_connect_failures_total",
      "counter",
      "Market WebSocket attempts that never opened.",
      one(s?.failedConnects),
    );
    out.family(
      "ws_stalls_total",
      "counter",
      "Market WebSocket links declared dead by silence.",
      one(s?.stalls),
    );
    out.family(
      "ws_messages_total",
      "counter",
      "Market WebSocket frames received.",
      one(s?.messages),
    );
    out.family(
      "ws_malformed_total",
      "counter",
      "Market WebSocket frames rejected.",
      one(s?.malformed),
    );
  }

  #loopText(out: PromText): void {
    const lag: Sample[] = [];
    const age: Sample[] = [];
    const nowMs = this.#clock.nowMs();
    for (const [market, m] of this.#markets) {
      let cumulative = 0;
      LAG_BUCKETS_S.forEach((le, i) => {
        cumulative += m.buckets[i]!;
        lag.push([{ market, le: String(le) }, cumulative, "_bucket"]);
      });
      lag.push([{ market, le: "+Inf" }, m.lagCount, "_bucket"]);
      lag.push([{ market }, m.lagSumS, "_sum"], [{ market }, m.lagCount, "_count"]);
      age.push([{ market }, Math.max(0, nowMs - m.dataAtMs) / 1000]);
    }
    out.family(
      "loop_lag_seconds",
      "histogram",
      "From a price's exchange time to the trading loop having handled it, on the bot's clock.",
      lag,
    );
    out.family(
      "data_age_seconds",
      "gauge",
      "Age of the newest market data (price or candle) the loop handled, per market.",
      age,
    );
  }

  async #orderText(out: PromText): Promise<void> {
    out.family(
      "orders_total",
      "counter",
      "Order intents that entered each state since the start.",
      INTENT_STATES.map((state) => [{ state }, this.#orders.sum({ state })] as const),
    );
    let inFlight: readonly Pick<Intent, "state">[] | undefined;
    try {
      inFlight = await this.#inFlight?.();
    } catch {
      inFlight = undefined;
    }
    out.family(
      "orders_in_flight",
      "gauge",
      "Order intents in flight now, by state.",
      LIVE_INTENT_STATES.map((state) =>
        [
          { state },
          inFlight === undefined ? null : inFlight.filter((i) => i.state === state).length,
        ] as const
      ),
    );
    out.family("fills_total", "counter", "Fills applied since the start.", this.#fills.samples());
    out.family(
      "fill_funds_krw_total",
      "counter",
      "KRW traded by those fills (price × volume).",
      this.#fillFunds.samples(),
    );
  }

  async #outboxText(out: PromText): Promise<void> {
    const o = this.#outbox;
    let depth: number | null = null;
    const stats = o?.stats();
    if (o !== undefined && stats !== undefined) {
      try {
        const after = await o.journal.read({
          ...(stats.cursor === undefined ? {} : { afterId: stats.cursor }),
          limit: OUTBOX_DEPTH_CAP,
        });
        depth = after.length;
      } catch {
        depth = null;
      }
    }
    out.family(
      "outbox_depth",
      "gauge",
      `Journal events Telegram's outbox has not handled yet (counted up to ${OUTBOX_DEPTH_CAP}).`,
      [[{}, depth]],
    );
    out.family("outbox_sent_total", "counter", "Telegram messages the outbox sent.", [
      [{}, stats?.sent ?? null],
    ]);
    out.family("outbox_failures_total", "counter", "Telegram sends that failed (each retried).", [
      [{}, stats?.failures ?? null],
    ]);
  }
}

/**
 * The order trace of a run: each step of each intent as one log line carrying the intent's id
 * (`intent`, also in the text, so `grep` on it tells the order's whole story in either log
 * format), and counted by state in `telemetry`.
 */
export function orderTrace(options: {
  readonly logger: Logger;
  readonly telemetry?: Telemetry;
}): OrderTrace {
  const { logger, telemetry } = options;
  const fieldsOf = (intent: Intent) => ({
    event: "OrderStep",
    intent: intent.id,
    market: intent.market,
    state: intent.state,
    identifier: intent.identifier,
    sends: intent.sends,
  });
  return {
    stored(intent, from) {
      try {
        telemetry?.orderStored(intent, from);
        const what = stepText(intent, from);
        if (what !== undefined) logger.info(`order ${intent.id}: ${what}`, fieldsOf(intent));
      } catch {
        // A trace never stops an order.
      }
    },
    noted(intent, what) {
      try {
        logger.warn(`order ${intent.id}: ${what}`, fieldsOf(intent));
      } catch {
        // Same rule.
      }
    },
  };
}

/** What a commit of `intent` (from `from`) did, in words; undefined: nothing worth a line. */
function stepText(intent: Intent, from: IntentState | undefined): string | undefined {
  const side = intent.side === "bid" ? "buy" : "sell";
  if (from === undefined) {
    const written = `intent written: ${side} ${intent.market}, identifier ${intent.identifier}`;
    // A first intent is written UNKNOWN, its first send counted, in one commit before its POST.
    return intent.state === "UNKNOWN" ? `${written}; sending (send ${intent.sends})` : written;
  }
  switch (intent.state) {
    case "NEW":
      return from === "NEW"
        ? undefined
        : `next attempt ${intent.attempt}: new identifier ${intent.identifier}`;
    case "UNKNOWN":
      if (intent.duplicateSeen) return "duplicated_identifier: looking the order up";
      return `${intent.sends > 1 ? "resending" : "sending"} (send ${intent.sends})`;
    case "OPEN":
      return `open on the exchange as ${intent.uuid ?? "?"}`;
    case "FILLED":
      return `filled: ${formatUnits(intent.filledVolume)} ${baseCurrency(intent.market)} for ${
        formatKrw(intent.filledFunds)
      } KRW`;
    case "CANCELLED":
      return `cancelled${intent.error === undefined ? "" : ` (${intent.error})`}`;
    case "REJECTED":
      return `rejected: ${intent.error ?? "?"}`;
  }
}
