/**
 * `GET /metrics`: the bot's figures in Prometheus' text format, for an operator's monitoring: the
 * status's (switches, equity, P&L, positions, orders) and the run's telemetry (REST calls and
 * 429s by group, WebSocket reconnects, loop lag, data age, orders by state, fills, the Telegram
 * outbox's backlog, memory). Authenticated: a signed-in session, or `Authorization: Bearer
 * <token>` when a metrics token is configured (a scraper cannot sign in), compared in constant
 * time. Nothing secret is in it.
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  type BotStatus,
  type MetricsSource,
  type Operator,
  PromText,
  type Secret,
} from "../engine/mod.ts";
import { equalSecret, type SessionDeps, sessionOf, type WebEnv } from "./session.ts";

/** What the metrics route uses. */
export interface MetricsDeps extends SessionDeps {
  readonly operator: Operator;
  /** A scraper's bearer token (none: only a session may read the metrics). */
  readonly metricsToken?: Secret;
  /** The run's telemetry (none: the status's figures only). */
  readonly metrics?: MetricsSource;
}

/** `GET /metrics`. */
export function createMetricsRoutes(deps: MetricsDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/metrics", async (c) => {
    if (!await allowed(c, deps)) throw new HTTPException(401, { message: "sign in first" });
    const text = metricsText(await deps.operator.status()) + (await deps.metrics?.text() ?? "");
    return c.text(text, 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "cache-control": "no-store",
    });
  });
  return app;
}

async function allowed(c: Context, deps: MetricsDeps): Promise<boolean> {
  const auth = c.req.header("authorization");
  const token = deps.metricsToken?.reveal();
  if (auth !== undefined && token !== undefined && token !== "") {
    const m = /^Bearer (.+)$/.exec(auth);
    return m !== null && await equalSecret(m[1]!, token);
  }
  return await sessionOf(c, deps) !== undefined;
}

/** The status as Prometheus text: one gauge per figure, per market where it has one. */
export function metricsText(s: BotStatus): string {
  const out = new PromText();
  const bot = { bot: s.botId, mode: s.mode };
  const perMarket = (value: (m: BotStatus["markets"][number]) => number | null) =>
    s.markets.map((m) => [{ bot: s.botId, market: m.market }, value(m)] as const);
  const a = s.account;
  const krw = (text: string | null | undefined) => text == null ? null : Number(text);
  out.family("running", "gauge", "1 when the bot's process answers.", [[bot, s.running ? 1 : 0]])
    .family("paused", "gauge", "1 when new entries are paused.", [[bot, s.paused ? 1 : 0]])
    .family("safe_mode", "gauge", "1 in safe mode.", [[bot, s.safeMode ? 1 : 0]])
    .family("halted", "gauge", "1 after an emergency stop.", [[bot, s.halted ? 1 : 0]])
    .family("equity_krw", "gauge", "Account equity at the last prices, KRW.", [[bot, a.equity]])
    .family("daily_pnl_krw", "gauge", "Realized P&L of the current Upbit day, KRW.", [
      [bot, krw(a.dailyPnl)],
    ])
    .family("realized_pnl_krw", "gauge", "Realized P&L since the store's start, KRW.", [
      [bot, krw(a.realizedPnl)],
    ])
    .family("pnl_krw", "gauge", "Realized + unrealized P&L, KRW.", [[bot, a.pnl ?? null]])
    .family("fees_krw", "gauge", "Fees paid since the store's start, KRW.", [[bot, krw(a.fees)]])
    .family("open_positions", "gauge", "Markets holding a position.", [[bot, a.openPositions]])
    .family("open_orders", "gauge", "Orders in flight.", [[bot, a.openOrders]])
    .family(
      "last_price_time_seconds",
      "gauge",
      "When each market's last price came, Unix seconds.",
      perMarket((m) => m.lastPriceAtMs === null ? null : m.lastPriceAtMs / 1000),
    )
    .family(
      "unrealized_pnl_krw",
      "gauge",
      "Each market's unrealized P&L, KRW.",
      perMarket((m) => m.unrealizedPnl),
    );
  return out.text();
}
