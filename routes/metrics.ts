/**
 * `GET /metrics`: the bot's figures in Prometheus' text format, for an operator's monitoring.
 * Authenticated: a signed-in session, or `Authorization: Bearer <token>` when a metrics token is
 * configured (a scraper cannot sign in), compared in constant time. Nothing secret is in it.
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { BotStatus, Operator, Secret } from "../engine/mod.ts";
import { equalSecret, type SessionDeps, sessionOf, type WebEnv } from "./session.ts";

/** What the metrics route uses. */
export interface MetricsDeps extends SessionDeps {
  readonly operator: Operator;
  /** A scraper's bearer token (none: only a session may read the metrics). */
  readonly metricsToken?: Secret;
}

/** `GET /metrics`. */
export function createMetricsRoutes(deps: MetricsDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/metrics", async (c) => {
    if (!await allowed(c, deps)) throw new HTTPException(401, { message: "sign in first" });
    return c.text(metricsText(await deps.operator.status()), 200, {
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
  const lines: string[] = [];
  function gauge(name: string, help: string, samples: readonly [string, number | null][]) {
    lines.push(`# HELP upbit_trader_${name} ${help}`, `# TYPE upbit_trader_${name} gauge`);
    for (const [labels, value] of samples) {
      if (value !== null) lines.push(`upbit_trader_${name}${labels} ${value}`);
    }
  }
  const bot = `{bot="${label(s.botId)}",mode="${label(s.mode)}"}`;
  const per = (m: BotStatus["markets"][number]) =>
    `{bot="${label(s.botId)}",market="${label(m.market)}"}`;
  const a = s.account;
  gauge("running", "1 when the bot's process answers.", [[bot, s.running ? 1 : 0]]);
  gauge("paused", "1 when new entries are paused.", [[bot, s.paused ? 1 : 0]]);
  gauge("safe_mode", "1 in safe mode.", [[bot, s.safeMode ? 1 : 0]]);
  gauge("halted", "1 after an emergency stop.", [[bot, s.halted ? 1 : 0]]);
  gauge("equity_krw", "Account equity at the last prices, KRW.", [[bot, a.equity]]);
  gauge("daily_pnl_krw", "Realized P&L of the current Upbit day, KRW.", [
    [bot, Number(a.dailyPnl)],
  ]);
  gauge("open_positions", "Markets holding a position.", [[bot, a.openPositions]]);
  gauge("open_orders", "Orders in flight.", [[bot, a.openOrders]]);
  gauge(
    "last_price_time_seconds",
    "When each market's last price came, Unix seconds.",
    s.markets.map((m) => [per(m), m.lastPriceAtMs === null ? null : m.lastPriceAtMs / 1000]),
  );
  gauge(
    "unrealized_pnl_krw",
    "Each market's unrealized P&L, KRW.",
    s.markets.map((m) => [per(m), m.unrealizedPnl]),
  );
  return lines.join("\n") + "\n";
}

/** A label value with `\`, `"` and newlines escaped (Prometheus' rules). */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
