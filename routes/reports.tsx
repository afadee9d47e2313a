/**
 * The daily reports page: `GET /reports` lists the last days (newest first) with the account's
 * realized P&L, `GET /reports/<YYYY-MM-DD>` shows one day per market. A day is an Upbit day
 * (00:00 UTC to 00:00 UTC, 09:00 to 09:00 in Seoul), named by its UTC date. Built on the
 * operator's daily P&L read model.
 */

import { Hono } from "hono";
import type { VNode } from "preact";
import { type DayPnl, formatKrw, type Operator, parseUnits } from "../engine/mod.ts";
import { type Lang, messagesOf } from "./i18n.ts";
import { type PageAssets, renderPage, SitePage } from "./layout.tsx";
import { requireSession, type SessionDeps, type WebEnv } from "./session.ts";

/** Days the list shows. */
export const REPORT_DAYS = 30;
/** How far back a single day can be looked up. */
const MAX_LOOKBACK_DAYS = 90;
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
    const days = await operator.dailyPnl({ days: REPORT_DAYS });
    return c.html(
      renderPage(
        <ReportsPage
          lang={c.get("lang")}
          csrfToken={c.get("session").csrfToken}
          assets={deps.assets}
          days={days}
        />,
      ),
      200,
      { "cache-control": "no-store" },
    );
  });
  app.get("/reports/:date", async (c) => {
    const date = c.req.param("date");
    const startMs = DATE.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
    const todayMs = Math.floor(deps.clock.nowMs() / DAY_MS) * DAY_MS;
    const back = (todayMs - startMs) / DAY_MS;
    const lang = c.get("lang");
    let day: DayPnl | undefined;
    if (Number.isInteger(back) && back >= 0 && back < MAX_LOOKBACK_DAYS) {
      day = (await operator.dailyPnl({ days: back + 1 }))[back];
    }
    const safeDate = DATE.test(date) ? date : "?";
    return c.html(
      renderPage(
        <ReportPage
          lang={lang}
          date={safeDate}
          csrfToken={c.get("session").csrfToken}
          assets={deps.assets}
          day={day}
        />,
      ),
      day === undefined ? 404 : 200,
      { "cache-control": "no-store" },
    );
  });
  return app;
}

function tone(amount: string): string {
  const units = parseUnits(amount);
  return units > 0n ? "pos" : units < 0n ? "neg" : "";
}

function ReportsPage(
  props: {
    readonly lang: Lang;
    readonly csrfToken: string;
    readonly assets: PageAssets;
    readonly days: readonly DayPnl[];
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
      {props.days.length === 0 ? <p class="muted">{t("reports.empty")}</p> : (
        <ol class="rows">
          {props.days.map((d) => (
            <li key={d.dayStartMs} class="split">
              <a href={`/reports/${dateOf(d.dayStartMs)}`}>{dateOf(d.dayStartMs)}</a>
              <span class={tone(d.account)}>
                {formatKrw(parseUnits(d.account), { signed: true })} KRW
              </span>
            </li>
          ))}
        </ol>
      )}
    </SitePage>
  );
}

function ReportPage(
  props: {
    readonly lang: Lang;
    readonly date: string;
    readonly csrfToken: string;
    readonly assets: PageAssets;
    readonly day: DayPnl | undefined;
  },
): VNode {
  const t = messagesOf(props.lang);
  const { day } = props;
  return (
    <SitePage
      title={`${t("reports.title")} · ${props.date}`}
      lang={props.lang}
      current="reports"
      path={`/reports/${props.date}`}
      csrfToken={props.csrfToken}
      assets={props.assets}
    >
      {day === undefined
        ? <p class="error">{t("reports.notFound", { date: props.date })}</p>
        : (
          <section class="card">
            <dl class="figures">
              <dt>{t("reports.account")}</dt>
              <dd class={tone(day.account)}>
                {formatKrw(parseUnits(day.account), { signed: true })} KRW
              </dd>
              {Object.entries(day.markets).map(([market, pnl]) => [
                <dt key={`${market}-t`}>{market} · {t("reports.pnl")}</dt>,
                <dd key={`${market}-d`} class={tone(pnl)}>
                  {formatKrw(parseUnits(pnl), { signed: true })} KRW
                </dd>,
              ])}
            </dl>
          </section>
        )}
      <p>
        <a href="/reports">{t("reports.back")}</a>
      </p>
    </SitePage>
  );
}
