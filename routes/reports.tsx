/**
 * The daily reports page, over the operator's daily report read model (the same report as
 * Telegram's `/report` and `deno task report`): `GET /reports` lists today so far and the issued
 * reports (newest first); `GET /reports/<YYYY-MM-DD>` shows one day: P&L (realized, unrealized,
 * fees, slippage), exits by reason, drawdown and the loss budget used, data health, uptime, the
 * backtest over the day's candles beside what the bot did, and each market. A day is an Upbit
 * day (00:00 UTC to 00:00 UTC, 09:00 to 09:00 in Seoul), named by its UTC date.
 */

import { Hono } from "hono";
import type { VNode } from "preact";
import {
  BadReportDateError,
  type DailyReport,
  EXIT_KINDS,
  formatDateTime,
  formatKrw,
  formatPct,
  type MarketDay,
  type Operator,
  parseUnits,
  type ReportListItem,
} from "../engine/mod.ts";
import { type Lang, type MessageKey, messagesOf, type Translate } from "./i18n.ts";
import { type PageAssets, pageResponse, SitePage } from "./layout.tsx";
import { requireSession, type SessionDeps, type WebEnv } from "./session.ts";

/** Issued reports the list shows. */
const REPORT_LIST_LIMIT = 60;
const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** What the reports routes use. */
export interface ReportsDeps extends SessionDeps {
  readonly operator: Operator;
  readonly assets: PageAssets;
}

/** `2026-12-04` of a day's start. */
function dateOf(dayStartMs: number): string {
  return new Date(dayStartMs).toISOString().slice(0, 10);
}

/** `GET /reports` and `GET /reports/:date`. */
export function createReportsRoutes(deps: ReportsDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { operator } = deps;
  app.use("/reports", requireSession(deps));
  app.use("/reports/*", requireSession(deps));
  app.get("/reports", async (c) => {
    const reports = await operator.listReports({ limit: REPORT_LIST_LIMIT });
    return pageResponse(
      c,
      <ReportsPage
        lang={c.get("lang")}
        csrfToken={c.get("session").csrfToken}
        assets={deps.assets}
        today={dateOf(Math.floor(deps.clock.nowMs() / DAY_MS) * DAY_MS)}
        reports={reports}
      />,
    );
  });
  app.get("/reports/:date", async (c) => {
    const date = c.req.param("date");
    const todayMs = Math.floor(deps.clock.nowMs() / DAY_MS) * DAY_MS;
    let report: DailyReport | undefined;
    if (DATE.test(date) && Date.parse(`${date}T00:00:00Z`) <= todayMs) {
      try {
        report = await operator.dailyReport(date);
      } catch (error) {
        if (!(error instanceof BadReportDateError)) throw error;
      }
    }
    const shown = DATE.test(date) ? date : "?";
    return pageResponse(
      c,
      <ReportPage
        lang={c.get("lang")}
        date={shown}
        csrfToken={c.get("session").csrfToken}
        assets={deps.assets}
        report={report}
      />,
      report === undefined ? 404 : 200,
    );
  });
  return app;
}

function tone(amount: string): string {
  const units = parseUnits(amount);
  return units > 0n ? "pos" : units < 0n ? "neg" : "";
}

/** A signed KRW amount of exact decimal text. */
function Krw(props: { readonly amount: string; readonly signed?: boolean }): VNode {
  return (
    <span class={props.signed === false ? "" : tone(props.amount)}>
      {formatKrw(parseUnits(props.amount), { signed: props.signed !== false })} KRW
    </span>
  );
}

function ReportsPage(
  props: {
    readonly lang: Lang;
    readonly csrfToken: string;
    readonly assets: PageAssets;
    readonly today: string;
    readonly reports: readonly ReportListItem[];
  },
): VNode {
  const t = messagesOf(props.lang);
  return (
    <SitePage
      title={t("reports.title")}
      lang={props.lang}
      current="reports"
      path="/reports"
      csrfToken={props.csrfToken}
      assets={props.assets}
    >
      <p class="muted">{t("reports.dayNote")}</p>
      <ol class="rows">
        <li class="split">
          <a href={`/reports/${props.today}`}>{props.today}</a>
          <span class="muted">{t("reports.today")}</span>
        </li>
        {props.reports.map((r) => (
          <li key={r.date} class="split">
            <a href={`/reports/${r.date}`}>{r.date}</a>
            <span class="muted">
              {t("reports.issued", { at: `${formatDateTime(r.issuedAtMs)} UTC` })}
            </span>
          </li>
        ))}
      </ol>
      {props.reports.length === 0 ? <p class="muted">{t("reports.empty")}</p> : null}
    </SitePage>
  );
}

function ReportPage(
  props: {
    readonly lang: Lang;
    readonly date: string;
    readonly csrfToken: string;
    readonly assets: PageAssets;
    readonly report: DailyReport | undefined;
  },
): VNode {
  const t = messagesOf(props.lang);
  const r = props.report;
  return (
    <SitePage
      title={`${t("reports.title")} · ${props.date}`}
      lang={props.lang}
      current="reports"
      path={`/reports/${props.date}`}
      csrfToken={props.csrfToken}
      assets={props.assets}
    >
      {r === undefined
        ? <p class="error">{t("reports.notFound", { date: props.date })}</p>
        : <ReportBody t={t} report={r} />}
      <p>
        <a href="/reports">{t("reports.back")}</a>
      </p>
    </SitePage>
  );
}

function ReportBody(props: { readonly t: Translate; readonly report: DailyReport }): VNode {
  const { t, report: r } = props;
  const a = r.account;
  return (
    <>
      <p class="muted">
        {r.complete ? t("reports.complete") : t("reports.inProgress")} · {r.botId} · {r.mode} ·{" "}
        {r.strategy} {r.timeframe}
        {r.issuedAtMs === null
          ? null
          : ` · ${t("reports.issued", { at: `${formatDateTime(r.issuedAtMs)} UTC` })}`}
      </p>
      <section class="card" aria-label={t("reports.account")}>
        <h2>{t("reports.account")}</h2>
        <dl class="figures">
          <dt>{t("reports.realized")}</dt>
          <dd>
            <Krw amount={a.realizedPnl} />
          </dd>
          <dt>{t("reports.unrealized")}</dt>
          <dd>
            <Krw amount={a.unrealizedPnl} />
          </dd>
          <dt>{t("reports.fees")}</dt>
          <dd>
            <Krw amount={a.fees} signed={false} />
          </dd>
          <dt>{t("reports.slippage")}</dt>
          <dd>
            <Krw amount={a.slippage} />
          </dd>
          <dt>{t("reports.fills")}</dt>
          <dd>{a.fills}</dd>
          <dt>{t("reports.exits")}</dt>
          <dd>{exitsText(t, a.exits)}</dd>
          <dt>{t("reports.drawdown")}</dt>
          <dd>
            {a.maxDrawdownKrw === null ? t("common.na") : (
              <>
                <Krw amount={a.maxDrawdownKrw} signed={false} />
                {a.maxDrawdownPct === null
                  ? ""
                  : ` (${formatPct(a.maxDrawdownPct, { signed: false })})`}
              </>
            )}
          </dd>
          <dt>{t("reports.lossBudget")}</dt>
          <dd>
            {a.lossBudgetUsedPct === null
              ? t("common.na")
              : formatPct(a.lossBudgetUsedPct, { signed: false, decimals: 0 })}
          </dd>
          <dt>{t("reports.reconciled")}</dt>
          <dd class={r.reconciled ? "pos" : "neg"}>
            {r.reconciled ? t("reports.yes") : t("reports.no")}
          </dd>
        </dl>
      </section>
      <section class="card" aria-label={t("reports.health")}>
        <h2>{t("reports.health")}</h2>
        <dl class="figures">
          <dt>{t("reports.uptime")}</dt>
          <dd>
            {formatPct(r.uptime.pct, { signed: false, decimals: 1 })} ·{" "}
            {t("reports.starts", { n: r.uptime.starts })}
          </dd>
          <dt>{t("reports.reconnects")}</dt>
          <dd>{r.dataHealth.reconnects}</dd>
          <dt>{t("reports.stale")}</dt>
          <dd>{r.dataHealth.staleData}</dd>
          <dt>{t("reports.watchdog")}</dt>
          <dd>{r.dataHealth.watchdogAlerts}</dd>
          <dt>{t("reports.errors")}</dt>
          <dd>{r.dataHealth.errors}</dd>
          <dt>{t("reports.missing")}</dt>
          <dd>{r.dataHealth.missingMinutes}</dd>
        </dl>
      </section>
      <section class="card" aria-label={t("reports.backtest")}>
        <h2>{t("reports.backtest")}</h2>
        {!r.backtest.ran ? <p class="muted">{t("reports.noCandles")}</p> : (
          <dl class="figures">
            <dt>{t("reports.bot")}</dt>
            <dd>
              <Krw amount={r.backtest.botRealizedPnl} />
            </dd>
            <dt>{t("reports.backtestPnl")}</dt>
            <dd>
              <Krw amount={r.backtest.backtestRealizedPnl} />
            </dd>
            <dt>{t("reports.diff")}</dt>
            <dd>
              <Krw amount={r.backtest.pnlDiff} />
            </dd>
            <dt>{t("reports.matched")}</dt>
            <dd>{r.backtest.matched}</dd>
          </dl>
        )}
      </section>
      {r.markets.map((m) => <MarketSection key={m.market} t={t} market={m} />)}
    </>
  );
}

function MarketSection(props: { readonly t: Translate; readonly market: MarketDay }): VNode {
  const { t, market: m } = props;
  return (
    <section class="card" aria-label={m.market}>
      <h2>{m.market}</h2>
      <dl class="figures">
        <dt>{t("reports.realized")}</dt>
        <dd>
          <Krw amount={m.realizedPnl} />
        </dd>
        <dt>{t("reports.unrealized")}</dt>
        <dd>
          <Krw amount={m.unrealizedPnl} />
        </dd>
        <dt>{t("reports.fees")}</dt>
        <dd>
          <Krw amount={m.fees} signed={false} />
        </dd>
        <dt>{t("reports.fills")}</dt>
        <dd>{m.fills} ({t("reports.buys", { n: m.buys })})</dd>
        <dt>{t("reports.exits")}</dt>
        <dd>{exitsText(t, m.exits)}</dd>
        <dt>{t("reports.candles")}</dt>
        <dd>{m.candles}</dd>
        <dt>{t("reports.reconciled")}</dt>
        <dd class={m.reconciled ? "pos" : "neg"}>
          {m.reconciled ? t("reports.yes") : m.reconcileNote ?? t("reports.no")}
        </dd>
      </dl>
    </section>
  );
}

/** `stop loss 1 · signal 2`, or `0`. */
function exitsText(t: Translate, exits: DailyReport["account"]["exits"]): string {
  const parts = EXIT_KINDS.filter((k) => exits[k] > 0).map((k) =>
    `${t(`exit.${k}` as MessageKey)} ${exits[k]}`
  );
  return parts.length === 0 ? "0" : parts.join(" · ");
}
