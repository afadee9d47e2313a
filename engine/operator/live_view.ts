/**
 * The main page's read models beyond the status: the bot's health (data freshness, the loop's
 * last tick, the market-data link, the last error), the recent signals with their reasons, and a
 * candle chart (candles, Bollinger bands, the fills as markers). Health and signals come from the
 * store (trader states and the event journal); the chart's candles are the 1-minute candles the
 * loop recorded as it traded (`CandleStore`).
 */

import { aggregateCandles, bucketStartMs } from "../core/aggregate.ts";
import { isTimeframe, type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { bollingerBandsBatch } from "../core/indicators/mod.ts";
import { parseUnits, SCALE, type Units } from "../core/money.ts";
import type { RunRecord, Store } from "../ports.ts";

/** How many journal events the health and signal views look back over. */
const JOURNAL_LOOKBACK = 500;
/** The most 1-minute candles a chart reads. */
const MAX_CHART_MINUTES = 1_000;

/** The market-data link as the page shows it. */
export type LinkState = "connected" | "stale" | "disconnected" | "stopped";

/** The bot's health at a glance. */
export interface HealthView {
  /** When the freshest market price was seen (null: none yet). */
  readonly lastDataAtMs: number | null;
  /** Age of the freshest price at `nowMs` (null: none yet). */
  readonly dataAgeMs: number | null;
  /** Prices older than this are stale. */
  readonly staleAfterMs: number;
  /** When the trading loop last wrote its state (once a minute while it runs; null: never). */
  readonly lastTickMs: number | null;
  /**
   * The market-data link (WebSocket): `connected` (fresh prices), `stale` (no fresh price),
   * `disconnected` (the loop reported the link down after its last price), `stopped` (no bot).
   */
  readonly link: LinkState;
  /** The newest error the engine raised (null: none in the recent journal). */
  readonly lastError:
    | { readonly atMs: number; readonly code: string; readonly message: string }
    | null;
}

/** A signal the strategy raised, and whether it was carried out. */
export interface SignalView {
  readonly id: string;
  readonly atMs: number;
  readonly market: string;
  readonly action: "buy" | "sell";
  readonly reason: string;
  /** False when the signal was not executed after all (the reason says why). */
  readonly executed: boolean;
}

/** One market's chart: candles of the run's timeframe, bands and the fills. */
export interface ChartView {
  readonly market: string;
  readonly timeframe: string;
  /** Oldest first; times in UTC seconds (the chart library's unit). */
  readonly candles: readonly {
    readonly time: number;
    readonly open: number;
    readonly high: number;
    readonly low: number;
    readonly close: number;
  }[];
  /** Bollinger bands (the strategy's period and width, default 20 and 2) after the warm-up. */
  readonly bands: readonly {
    readonly time: number;
    readonly upper: number;
    readonly middle: number;
    readonly lower: number;
  }[];
  /** The fills in the chart's time range. */
  readonly markers: readonly {
    readonly time: number;
    readonly side: "bid" | "ask";
    readonly price: number;
  }[];
}

/** The health of the bot `run` describes at `nowMs`. */
export async function healthView(
  store: Store,
  run: RunRecord,
  options: { readonly nowMs: number; readonly running: boolean; readonly staleAfterMs: number },
): Promise<HealthView> {
  const [states, journal] = await Promise.all([
    Promise.all(run.traders.map((t) => store.getTraderState(t.botId))),
    store.listJournal({ limit: JOURNAL_LOOKBACK, newest: true }),
  ]);
  let lastDataAtMs: number | null = null;
  let lastTickMs: number | null = null;
  for (const s of states) {
    if (s === undefined) continue;
    if (s.lastPrice > 0 && (lastDataAtMs === null || s.lastPriceAtMs > lastDataAtMs)) {
      lastDataAtMs = s.lastPriceAtMs;
    }
    if (s.updatedAtMs > 0 && (lastTickMs === null || s.updatedAtMs > lastTickMs)) {
      lastTickMs = s.updatedAtMs;
    }
  }
  const errors = journal.map((e) => e.event).filter((e) => e.type === "ErrorRaised");
  const last = errors.at(-1);
  const down = errors.findLast((e) => e.code === "market_disconnected");
  const dataAgeMs = lastDataAtMs === null ? null : Math.max(0, options.nowMs - lastDataAtMs);
  const link: LinkState = !options.running
    ? "stopped"
    : down !== undefined && (lastDataAtMs === null || down.atMs > lastDataAtMs)
    ? "disconnected"
    : dataAgeMs === null || dataAgeMs > options.staleAfterMs
    ? "stale"
    : "connected";
  return {
    lastDataAtMs,
    dataAgeMs,
    staleAfterMs: options.staleAfterMs,
    lastTickMs,
    link,
    lastError: last === undefined
      ? null
      : { atMs: last.atMs, code: last.code, message: last.message },
  };
}

/** The newest `limit` signals, newest first (a failed one replaces its announcement). */
export async function recentSignals(
  store: Store,
  options: { readonly limit: number },
): Promise<readonly SignalView[]> {
  const journal = await store.listJournal({ limit: JOURNAL_LOOKBACK, newest: true });
  const byId = new Map<string, SignalView>();
  for (const { event } of journal) {
    if (event.type === "SignalRaised" || event.type === "SignalFailed") {
      const failed = event.type === "SignalFailed";
      const first = byId.get(event.signalId);
      byId.set(event.signalId, {
        id: event.signalId,
        atMs: first?.atMs ?? event.atMs,
        market: event.market,
        action: event.action,
        reason: event.reason,
        executed: !failed,
      });
    }
  }
  return [...byId.values()].sort((a, b) => b.atMs - a.atMs).slice(0, options.limit);
}

/** The chart of `market`: up to `bars` candles of the run's timeframe ending at `nowMs`. */
export async function chartView(
  store: Store,
  run: RunRecord,
  options: {
    readonly market: string;
    readonly bars: number;
    readonly nowMs: number;
    readonly strategyParams: Readonly<Record<string, number>>;
  },
): Promise<ChartView> {
  const timeframe: Timeframe = isTimeframe(run.timeframe) ? run.timeframe : "1m";
  const tfMs = TIMEFRAME_MS[timeframe];
  const minutes = Math.min(MAX_CHART_MINUTES, Math.max(1, options.bars) * (tfMs / 60_000));
  const toMs = Math.floor(options.nowMs / 60_000) * 60_000 + 60_000;
  const fromMs = toMs - minutes * 60_000;
  const minute = await store.listCandles(options.market, { fromMs, toMs });
  const candles = aggregateCandles(minute, timeframe);
  const period = options.strategyParams["period"] ?? 20;
  const std = options.strategyParams["std"] ?? 2;
  const bands = bollingerBandsBatch(candles.map((c) => c.close), { period, stdDev: std });
  const sec = (ms: number) => Math.floor(ms / 1000);
  const fills = await store.listFills();
  const startMs = candles[0]?.startMs ?? fromMs;
  return {
    market: options.market,
    timeframe,
    candles: candles.map((c) => ({
      time: sec(c.startMs),
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
    })),
    bands: candles.flatMap((c, i) => {
      const middle = bands.middle[i]!;
      return Number.isNaN(middle)
        ? []
        : [{ time: sec(c.startMs), upper: bands.upper[i]!, middle, lower: bands.lower[i]! }];
    }),
    markers: fills
      .filter((f) => f.market === options.market && f.tsMs >= startMs && f.tsMs < toMs)
      .sort((a, b) => a.tsMs - b.tsMs)
      .map((f) => ({
        // A marker sits on its candle (the library places markers on bar times).
        time: sec(bucketStartMs(f.tsMs, timeframe)),
        side: f.side,
        price: Number(f.price) / Number(SCALE),
      })),
  };
}

/** One point of the account's equity curve (UTC seconds, KRW). */
export interface CurvePoint {
  readonly time: number;
  readonly value: number;
}

/**
 * The account's equity from `fromMs` on, at most `points` points (evenly thinned, the newest
 * kept). With the run's capital cap, each market's ledger starts with the whole cap, so the
 * account is the cap plus every market's gain over its opening cash (not the sum of the
 * markets' equity); without one, the sum.
 */
export async function equityCurve(
  store: Store,
  run: RunRecord,
  options: { readonly fromMs: number; readonly points: number },
): Promise<readonly CurvePoint[]> {
  const markets = run.traders.map((t) => t.market);
  const [ledgers, series] = await Promise.all([
    Promise.all(markets.map((m) => store.getLedger(m))),
    Promise.all(markets.map((market) => store.listEquity({ market, fromMs: options.fromMs }))),
  ]);
  const capital = run.capitalKrw === undefined ? null : parseUnits(run.capitalKrw);
  const opening = new Map(markets.map((m, i) => [m, ledgers[i]?.initialCash ?? 0n]));
  const all = series.flat().sort((a, b) => a.tsMs - b.tsMs);
  const latest = new Map<string, Units>();
  const out: CurvePoint[] = [];
  for (const s of all) {
    latest.set(s.market, s.equity);
    let sum = capital ?? 0n;
    for (const [market, equity] of latest) {
      sum += capital === null ? equity : equity - (opening.get(market) ?? 0n);
    }
    const point = { time: Math.floor(s.tsMs / 1000), value: Number(sum) / Number(SCALE) };
    if (out.at(-1)?.time === point.time) out[out.length - 1] = point;
    else out.push(point);
  }
  if (out.length <= options.points) return out;
  const step = out.length / options.points;
  const thin: CurvePoint[] = [];
  for (let i = out.length - 1; i >= 0 && thin.length < options.points; i -= step) {
    thin.push(out[Math.floor(i)]!);
  }
  return thin.reverse();
}
