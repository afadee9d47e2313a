/**
 * The charts' data (JSON, for the `Charts` island): `GET /api/equity` (the account's equity
 * curve over the last 7 days, at most 400 points, ending at the equity now) and `GET /api/chart?market=KRW-BTC` (the
 * market's last 120 candles of the run's timeframe, Bollinger bands and fills).
 */

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Clock, Operator } from "../engine/mod.ts";
import { requireSession, type SessionDeps, type WebEnv } from "./session.ts";

/** What the chart routes use. */
export interface ChartDeps extends SessionDeps {
  readonly operator: Operator;
  readonly clock: Clock;
}

const CURVE_DAYS = 7;
const CURVE_POINTS = 400;
const CHART_BARS = 120;
const MARKET = /^[A-Z]{2,10}-[A-Z0-9]{1,15}$/;

/** `/api/equity` and `/api/chart`. */
export function createChartRoutes(deps: ChartDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use("/api/equity", requireSession(deps));
  app.use("/api/chart", requireSession(deps));
  app.get("/api/equity", async (c) => {
    const fromMs = deps.clock.nowMs() - CURVE_DAYS * 86_400_000;
    const [curve, status] = await Promise.all([
      deps.operator.equityCurve({ fromMs, points: CURVE_POINTS }),
      deps.operator.status(),
    ]);
    // The curve ends at the equity now (the snapshots are taken at fills and exits).
    const now = Math.floor(deps.clock.nowMs() / 1000);
    const equity = status.account.equity;
    const last = curve.at(-1);
    const points = equity === null || curve.length === 0 || (last !== undefined && last.time >= now)
      ? curve
      : [...curve, { time: now, value: equity }];
    return c.json(points, 200, { "cache-control": "no-store" });
  });
  app.get("/api/chart", async (c) => {
    const market = c.req.query("market") ?? "";
    const notTraded = new HTTPException(400, { message: "market: not a market this bot trades" });
    if (!MARKET.test(market)) throw notTraded;
    try {
      const chart = await deps.operator.chart({ market, bars: CHART_BARS });
      return c.json(chart, 200, { "cache-control": "no-store" });
    } catch (error) {
      throw error instanceof RangeError ? notTraded : error;
    }
  });
  return app;
}
