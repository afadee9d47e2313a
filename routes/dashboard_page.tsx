/**
 * The main page's markup: the bot at a glance from the operator's read models (mode and health,
 * account equity, today's P&L against the daily loss budget, positions with their levels, open
 * orders, recent trades, the last command) and the controls. Phone first: cards and two-line
 * rows, never a table wider than the screen. Every number goes through the engine's one
 * formatter.
 */

import type { VNode } from "preact";
import {
  type BotStatus,
  formatDateTime,
  formatKrw,
  formatPct,
  formatPrice,
  formatVolume,
  type MarketStatus,
  type OrderView,
  parseUnits,
  type TradeView,
} from "../engine/mod.ts";
import { CsrfField } from "./auth.tsx";
import { CONTROL_TEXT, CONTROLS } from "./controls.ts";
import LiveStatus, { stateOf } from "../islands/LiveStatus.tsx";
import { Island, type PageAssets, Shell } from "./layout.tsx";

/** Everything the main page shows. */
export interface DashboardData {
  readonly nowMs: number;
  readonly status: BotStatus;
  readonly orders: readonly OrderView[];
  readonly trades: readonly TradeView[];
  /** The daily loss limit in force, % of the day's starting equity (0 = off). */
  readonly maxDailyLossPct: number | undefined;
  /** Prices older than this are stale. */
  readonly staleAfterMs: number;
  /** The newest operator command, one line, or null. */
  readonly lastCommand: string | null;
  readonly csrfToken: string;
  readonly assets: PageAssets;
  /** The request's CSP nonce (the islands' bundle carries it). */
  readonly nonce: string;
}

/**
 * Today's realized loss as a share of the daily loss budget (the limit's % of the account's
 * capital, or of its equity when no cap is set); null when there is no limit or no base.
 */
export function budgetUsedPct(data: DashboardData): number | null {
  const a = data.status.account;
  const pct = data.maxDailyLossPct;
  const base = a.capitalKrw !== null ? Number(a.capitalKrw) : a.equity;
  if (pct === undefined || pct <= 0 || base === null || base <= 0) return null;
  const loss = Math.max(0, -Number(a.dailyPnl));
  return (loss / (base * pct / 100)) * 100;
}

/** The main page. */
export function DashboardPage(props: { readonly data: DashboardData }): VNode {
  const { data } = props;
  const s = data.status;
  const state = stateOf(s);
  const used = budgetUsedPct(data);
  const held = s.markets.filter((m) => m.position !== null);
  return (
    <Shell
      title={`${state.text} · ${s.botId} · upbit-trader`}
      assets={data.assets}
      nonce={data.nonce}
    >
      <header class="top">
        <Island
          name="LiveStatus"
          component={LiveStatus}
          props={{
            running: s.running,
            paused: s.paused,
            safeMode: s.safeMode,
            halted: s.halted,
          }}
        />
        <span class="bot">{s.botId} · {s.mode}</span>
        <form method="post" action="/logout" class="inline">
          <CsrfField token={data.csrfToken} />
          <button type="submit" class="link">Sign out</button>
        </form>
      </header>
      <main>
        <section class="card" aria-label="Health">
          <p class="reason">
            {s.reason === "" ? "No switch changed yet." : s.reason}
            {s.changedAtMs > 0
              ? <span class="muted">{` · ${formatDateTime(s.changedAtMs)} UTC`}</span>
              : null}
          </p>
          <ul class="health">
            {s.markets.map((m) => (
              <Freshness
                key={m.market}
                market={m}
                nowMs={data.nowMs}
                staleAfterMs={data.staleAfterMs}
              />
            ))}
          </ul>
        </section>

        <section class="card" aria-label="Account">
          <dl class="figures">
            <dt>Equity</dt>
            <dd>{s.account.equity === null ? "n/a" : `${formatKrw(s.account.equity)} KRW`}</dd>
            <dt>Today's P&amp;L</dt>
            <dd class={tone(Number(s.account.dailyPnl))}>
              {formatKrw(parseUnits(s.account.dailyPnl), { signed: true })} KRW
            </dd>
            <dt>Daily loss budget used</dt>
            <dd class={s.account.dailyLossBlocked ? "neg" : ""}>
              {used === null ? "no limit" : formatPct(used, { signed: false, decimals: 0 })}
              {s.account.dailyLossBlocked ? " · entries blocked today" : ""}
            </dd>
            <dt>Cash</dt>
            <dd>{formatKrw(parseUnits(s.account.cash))} KRW</dd>
            <dt>Unrealized P&amp;L</dt>
            <dd class={tone(s.account.unrealizedPnl ?? 0)}>
              {s.account.unrealizedPnl === null
                ? "n/a"
                : `${formatKrw(s.account.unrealizedPnl, { signed: true })} KRW`}
            </dd>
          </dl>
        </section>

        <section aria-label="Positions">
          <h2>Positions ({held.length})</h2>
          {held.length === 0
            ? <p class="muted">No open position.</p>
            : held.map((m) => <Position key={m.market} market={m} nowMs={data.nowMs} />)}
        </section>

        <section aria-label="Open orders">
          <h2>Open orders ({data.orders.length})</h2>
          {data.orders.length === 0 ? <p class="muted">No order in flight.</p> : (
            <ul class="rows">
              {data.orders.map((o) => (
                <li key={o.id}>
                  <span>
                    {o.market} <b class={o.side === "bid" ? "pos" : "neg"}>{sideText(o.side)}</b>
                  </span>
                  <span class="muted">{o.state} · {formatDateTime(o.createdAtMs)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section aria-label="Recent trades">
          <h2>Recent trades (UTC)</h2>
          {data.trades.length === 0 ? <p class="muted">No trade yet.</p> : (
            <ul class="rows">
              {data.trades.map((t) => (
                <li key={t.tradeUuid}>
                  <span>
                    {t.market} <b class={t.side === "bid" ? "pos" : "neg"}>{sideText(t.side)}</b>
                    {" "}
                    {formatVolume(parseUnits(t.volume))} @{" "}
                    {formatPrice(parseUnits(t.price), { atMs: t.atMs, market: t.market })}
                  </span>
                  <span class="muted">
                    {formatKrw(parseUnits(t.funds))} KRW · {formatDateTime(t.atMs)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section class="card" aria-label="Controls">
          <h2>Controls</h2>
          <nav class="controls">
            {CONTROLS.map((name) => (
              <a
                key={name}
                class={`button${CONTROL_TEXT[name].danger ? " danger" : ""}`}
                href={`/control/${name}`}
              >
                {CONTROL_TEXT[name].button}
              </a>
            ))}
          </nav>
          {data.lastCommand === null ? null : <p class="muted">Last command: {data.lastCommand}</p>}
        </section>
      </main>
    </Shell>
  );
}

function Freshness(
  props: { readonly market: MarketStatus; readonly nowMs: number; readonly staleAfterMs: number },
): VNode {
  const m = props.market;
  if (m.lastPriceAtMs === null) {
    return (
      <li>
        <span>{m.market}</span> <span class="neg">no price yet</span>
      </li>
    );
  }
  const ageMs = Math.max(0, props.nowMs - m.lastPriceAtMs);
  const stale = ageMs > props.staleAfterMs;
  return (
    <li>
      <span>{m.market}</span>{" "}
      <span class={stale ? "neg" : "pos"}>
        price {ageText(ageMs)} ago{stale ? " (stale)" : ""}
      </span>
    </li>
  );
}

function Position(props: { readonly market: MarketStatus; readonly nowMs: number }): VNode {
  const m = props.market;
  const p = m.position!;
  const ctx = { atMs: props.nowMs, market: m.market };
  const level = (v: string | null) => v === null ? "-" : formatPrice(parseUnits(v), ctx);
  return (
    <article class="card position">
      <h3>
        {m.market}{" "}
        <span class={tone(m.unrealizedPnl ?? 0)}>
          {m.unrealizedPnl === null ? "n/a" : `${formatKrw(m.unrealizedPnl, { signed: true })} KRW`}
        </span>
      </h3>
      <dl class="figures">
        <dt>Volume</dt>
        <dd>{formatVolume(parseUnits(p.volume))}</dd>
        <dt>Entry</dt>
        <dd>{formatPrice(parseUnits(p.avgPrice), ctx)}</dd>
        <dt>Mark</dt>
        <dd>{m.lastPrice === null ? "n/a" : formatPrice(m.lastPrice, ctx)}</dd>
        <dt>Stop</dt>
        <dd>{level(p.stop)}</dd>
        <dt>Target</dt>
        <dd>{level(p.target)}</dd>
        <dt>Trailing</dt>
        <dd>{p.trailingStop === null ? "off" : formatPrice(p.trailingStop, ctx)}</dd>
      </dl>
    </article>
  );
}

function sideText(side: "bid" | "ask"): string {
  return side === "bid" ? "buy" : "sell";
}

function tone(value: number): string {
  return value > 0 ? "pos" : value < 0 ? "neg" : "";
}

function ageText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}
