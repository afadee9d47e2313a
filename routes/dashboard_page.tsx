/**
 * The main page's markup: the bot at a glance from the operator's read models, phone first
 * (cards and two-line rows, never a table wider than the screen; two columns on a wide screen,
 * the charts across both), in English or Korean.
 *
 * - The summary (`Summary`: health, account, positions, open orders) is server-rendered and the
 *   browser fetches it again (`GET /api/summary`) after each event that changes it.
 * - Islands: the state badge, the trade and signal lists (new rows come with their events) and
 *   the charts (their library loads only after the first paint).
 *
 * Every number goes through the engine's one formatter.
 */

import type { VNode } from "preact";
import {
  type AccountStatus,
  type BotStatus,
  formatDateTime,
  formatKrw,
  formatPct,
  formatPrice,
  formatVolume,
  type HealthView,
  type MarketStatus,
  type OrderView,
  parseUnits,
} from "../engine/mod.ts";
import Charts from "../islands/Charts.tsx";
import LiveSignals, { type SignalRow } from "../islands/LiveSignals.tsx";
import LiveStatus, { stateOf, type StateWords } from "../islands/LiveStatus.tsx";
import LiveTrades, { type TradeRow } from "../islands/LiveTrades.tsx";
import { CONTROLS, controlText } from "./controls.ts";
import { type DashboardText, dashboardText } from "./dashboard_text.ts";
import { type Lang, messagesOf } from "./i18n.ts";
import { Island, NavBar, type PageAssets, Shell } from "./layout.tsx";

/** What the summary block shows. */
export interface SummaryData {
  readonly lang: Lang;
  readonly nowMs: number;
  readonly status: BotStatus;
  readonly health: HealthView;
  readonly orders: readonly OrderView[];
  /** The daily loss limit in force, % of the day's starting equity (0 = off). */
  readonly maxDailyLossPct: number | undefined;
}

/** Everything the main page shows. */
export interface DashboardData extends SummaryData {
  readonly trades: readonly TradeRow[];
  readonly signals: readonly SignalRow[];
  /** How many rows the live lists keep. */
  readonly listLimit: number;
  /** The newest operator command, one line, or null. */
  readonly lastCommand: string | null;
  readonly csrfToken: string;
  readonly assets: PageAssets;
  /** The chart bundle's hashed URL (fetched after the first paint). */
  readonly chartsBundle: string;
  /** The request's CSP nonce (the islands' bundle carries it). */
  readonly nonce: string;
  /** The request's path (the language switch comes back to it). */
  readonly path: string;
}

/**
 * Today's realized loss as a share of the daily loss budget (the limit's % of the account's
 * capital, or of its equity when no cap is set); null when there is no limit or no base.
 */
export function budgetUsedPct(
  account: AccountStatus,
  maxDailyLossPct: number | undefined,
): number | null {
  const base = account.capitalKrw !== null ? Number(account.capitalKrw) : account.equity;
  if (maxDailyLossPct === undefined || maxDailyLossPct <= 0 || base === null || base <= 0) {
    return null;
  }
  const loss = Math.max(0, -Number(account.dailyPnl));
  return (loss / (base * maxDailyLossPct / 100)) * 100;
}

/** The badge's words in `lang`. */
function stateWords(lang: Lang): StateWords {
  const t = dashboardText(lang);
  return {
    halted: t("state.halted"),
    notRunning: t("state.notRunning"),
    safeMode: t("state.safeMode"),
    paused: t("state.paused"),
    running: t("state.running"),
    live: t("live.on"),
    reconnecting: t("live.off"),
  };
}

/** The main page. */
export function DashboardPage(props: { readonly data: DashboardData }): VNode {
  const { data } = props;
  const s = data.status;
  const t = dashboardText(data.lang);
  const words = stateWords(data.lang);
  return (
    <Shell
      title={`${words[stateOf(s).state]} · ${s.botId} · upbit-trader`}
      assets={data.assets}
      nonce={data.nonce}
      lang={data.lang}
    >
      <NavBar lang={data.lang} current="home" path={data.path} csrfToken={data.csrfToken}>
        <Island
          name="LiveStatus"
          component={LiveStatus}
          props={{
            running: s.running,
            paused: s.paused,
            safeMode: s.safeMode,
            halted: s.halted,
            words,
          }}
        />
        <span class="bot">{s.botId} · {s.mode}</span>
      </NavBar>
      <main class="wide">
        <div class="summary" data-live-src="/api/summary">
          <Summary data={data} />
        </div>

        <section aria-label={t("charts")}>
          <h2>{t("charts")}</h2>
          <Island
            name="Charts"
            component={Charts}
            props={{
              bundle: data.chartsBundle,
              markets: s.markets.map((m) => m.market),
              equityTitle: t("charts.equity"),
              titles: Object.fromEntries(
                s.markets.map((m) => [
                  m.market,
                  t("charts.candles", { market: m.market }),
                ]),
              ),
              loading: t("charts.loading"),
              empty: t("charts.empty"),
            }}
          />
        </section>

        <div class="pair">
          <section aria-label={t("trades")}>
            <h2>{t("trades")}</h2>
            <Island
              name="LiveTrades"
              component={LiveTrades}
              props={{ rows: data.trades, limit: data.listLimit, empty: t("trades.none") }}
            />
          </section>

          <section aria-label={t("signals")}>
            <h2>{t("signals")}</h2>
            <Island
              name="LiveSignals"
              component={LiveSignals}
              props={{ rows: data.signals, limit: data.listLimit, empty: t("signals.none") }}
            />
          </section>
        </div>

        <section class="card" aria-label={t("controls")}>
          <h2>{t("controls")}</h2>
          <nav class="controls">
            {CONTROLS.map((name) => {
              const c = controlText(data.lang, name);
              return (
                <a
                  key={name}
                  class={`button${c.danger ? " danger" : ""}`}
                  href={`/control/${name}`}
                >
                  {c.button}
                </a>
              );
            })}
          </nav>
          {data.lastCommand === null
            ? null
            : <p class="muted">{t("controls.last", { text: data.lastCommand })}</p>}
        </section>
      </main>
    </Shell>
  );
}

/**
 * Health, account, positions and open orders: the block the browser refreshes, in two columns
 * (health and account; positions and orders) side by side on a wide screen.
 */
export function Summary(props: { readonly data: SummaryData }): VNode {
  const { data } = props;
  const s = data.status;
  const h = data.health;
  const t = dashboardText(data.lang);
  const used = budgetUsedPct(s.account, data.maxDailyLossPct);
  const held = s.markets.filter((m) => m.position !== null);
  const na = messagesOf(data.lang)("common.na");
  return (
    <>
      <div class="col">
        <section class="card" aria-label={t("health")}>
          <p class="reason">
            {s.reason === "" ? t("health.noSwitch") : s.reason}
            {s.changedAtMs > 0
              ? <span class="muted">{` · ${formatDateTime(s.changedAtMs)} UTC`}</span>
              : null}
          </p>
          <dl class="figures health">
            <dt>{t("health.mode")}</dt>
            <dd>{s.mode}</dd>
            <dt>{t("health.link")}</dt>
            <dd class={h.link === "connected" ? "pos" : "neg"} data-link={h.link}>
              {t(`health.link.${h.link}`)}
            </dd>
            <dt>{t("health.fresh")}</dt>
            <dd class={freshTone(h)}>
              {ageLine(h.dataAgeMs, h.dataAgeMs !== null && h.dataAgeMs > h.staleAfterMs, t)}
            </dd>
            <dt>{t("health.tick")}</dt>
            <dd>
              {ageLine(
                h.lastTickMs === null ? null : Math.max(0, data.nowMs - h.lastTickMs),
                false,
                t,
              )}
            </dd>
            <dt>{t("health.error")}</dt>
            <dd class={h.lastError === null ? "" : "neg"}>
              {h.lastError === null
                ? t("health.noError")
                : `${h.lastError.message} · ${formatDateTime(h.lastError.atMs)}`}
            </dd>
          </dl>
          <ul class="freshness">
            {s.markets.map((m) => (
              <Freshness
                key={m.market}
                market={m}
                nowMs={data.nowMs}
                staleAfterMs={h.staleAfterMs}
                t={t}
              />
            ))}
          </ul>
          {s.mode === "demo" ? <p class="muted">{t("health.demoClock")}</p> : null}
        </section>

        <section class="card" aria-label={t("account")}>
          <dl class="figures">
            <dt>{t("account.equity")}</dt>
            <dd>{s.account.equity === null ? na : `${formatKrw(s.account.equity)} KRW`}</dd>
            <dt>{t("account.dailyPnl")}</dt>
            <dd class={tone(Number(s.account.dailyPnl))}>
              {formatKrw(parseUnits(s.account.dailyPnl), { signed: true })} KRW
            </dd>
            <dt>{t("account.budget")}</dt>
            <dd class={s.account.dailyLossBlocked ? "neg" : ""}>
              {used === null
                ? t("account.noLimit")
                : formatPct(used, { signed: false, decimals: 0 })}
              {s.account.dailyLossBlocked ? t("account.blocked") : ""}
            </dd>
            <dt>{t("account.cash")}</dt>
            <dd>{formatKrw(parseUnits(s.account.cash))} KRW</dd>
            <dt>{t("account.unrealized")}</dt>
            <dd class={tone(s.account.unrealizedPnl ?? 0)}>
              {s.account.unrealizedPnl === null
                ? na
                : `${formatKrw(s.account.unrealizedPnl, { signed: true })} KRW`}
            </dd>
          </dl>
          {used === null ? null : (
            <meter
              class="budget"
              min={0}
              max={100}
              low={50}
              high={80}
              optimum={0}
              value={Math.min(100, used)}
            />
          )}
        </section>
      </div>

      <div class="col">
        <section aria-label={t("positions", { count: held.length })}>
          <h2>{t("positions", { count: held.length })}</h2>
          {held.length === 0
            ? <p class="muted">{t("positions.none")}</p>
            : held.map((m) => (
              <Position
                key={m.market}
                market={m}
                nowMs={data.nowMs}
                t={t}
                lang={data.lang}
              />
            ))}
        </section>

        <section aria-label={t("orders", { count: data.orders.length })}>
          <h2>{t("orders", { count: data.orders.length })}</h2>
          {data.orders.length === 0 ? <p class="muted">{t("orders.none")}</p> : (
            <ul class="rows">
              {data.orders.map((o) => (
                <li key={o.id}>
                  <span>
                    {o.market}{" "}
                    <b class={o.side === "bid" ? "pos" : "neg"}>
                      {t(o.side === "bid" ? "side.bid" : "side.ask")}
                    </b>
                  </span>
                  <span class="muted">{o.state} · {formatDateTime(o.createdAtMs)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}

function Freshness(
  props: {
    readonly market: MarketStatus;
    readonly nowMs: number;
    readonly staleAfterMs: number;
    readonly t: DashboardText;
  },
): VNode {
  const m = props.market;
  if (m.lastPriceAtMs === null) {
    return (
      <li>
        <span>{m.market}</span> <span class="neg">{props.t("health.noPrice")}</span>
      </li>
    );
  }
  const ageMs = Math.max(0, props.nowMs - m.lastPriceAtMs);
  const stale = ageMs > props.staleAfterMs;
  return (
    <li>
      <span>{m.market}</span>{" "}
      <span class={stale ? "neg" : "pos"}>{ageLine(ageMs, stale, props.t)}</span>
    </li>
  );
}

function Position(
  props: {
    readonly market: MarketStatus;
    readonly nowMs: number;
    readonly t: DashboardText;
    readonly lang: Lang;
  },
): VNode {
  const { t } = props;
  const na = messagesOf(props.lang)("common.na");
  const m = props.market;
  const p = m.position!;
  const ctx = { atMs: props.nowMs, market: m.market };
  const level = (v: string | null) => v === null ? "-" : formatPrice(parseUnits(v), ctx);
  return (
    <article class="card position" data-market={m.market}>
      <h3>
        {m.market}{" "}
        <span class={tone(m.unrealizedPnl ?? 0)}>
          {m.unrealizedPnl === null ? na : `${formatKrw(m.unrealizedPnl, { signed: true })} KRW`}
        </span>
      </h3>
      <dl class="figures">
        <dt>{t("positions.volume")}</dt>
        <dd>{formatVolume(parseUnits(p.volume))}</dd>
        <dt>{t("positions.entry")}</dt>
        <dd>{formatPrice(parseUnits(p.avgPrice), ctx)}</dd>
        <dt>{t("positions.mark")}</dt>
        <dd>{m.lastPrice === null ? na : formatPrice(m.lastPrice, ctx)}</dd>
        <dt>{t("positions.stop")}</dt>
        <dd>{level(p.stop)}</dd>
        <dt>{t("positions.target")}</dt>
        <dd>{level(p.target)}</dd>
        <dt>{t("positions.trailing")}</dt>
        <dd>{p.trailingStop === null ? t("positions.off") : formatPrice(p.trailingStop, ctx)}</dd>
      </dl>
      <p class="actions">
        <a class="button small danger" href={`/sell/${m.market}`}>
          {messagesOf(props.lang)("sell.button", { market: m.market })}
        </a>
      </p>
    </article>
  );
}

function freshTone(h: HealthView): string {
  if (h.dataAgeMs === null) return "neg";
  return h.dataAgeMs > h.staleAfterMs ? "neg" : "pos";
}

function tone(value: number): string {
  return value > 0 ? "pos" : value < 0 ? "neg" : "";
}

function ageLine(ageMs: number | null, stale: boolean, t: DashboardText): string {
  if (ageMs === null) return t("health.never");
  return t(stale ? "health.stale" : "health.ago", { age: ageText(ageMs) });
}

function ageText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}
