/**
 * The main page (`GET /`), its live summary block (`GET /api/summary`, the HTML the page
 * fetches again after events) and the controls behind a confirmation: `GET /control/<name>` asks,
 * `POST /control/<name>` (the session's CSRF token and `confirm=yes`) calls the operator as
 * `web:<session>` and goes back to the main page, which shows the command's outcome.
 */

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { VNode } from "preact";
import type { Clock, Operator } from "../engine/mod.ts";
import { CsrfField } from "./auth.tsx";
import { requireConfirmation } from "./confirm.ts";
import { renderToString } from "preact-render-to-string";
import { commandOf, type ControlName, controlText, isControl } from "./controls.ts";
import { DashboardPage, Summary, type SummaryData } from "./dashboard_page.tsx";
import { dashboardText } from "./dashboard_text.ts";
import { type Lang, messagesOf } from "./i18n.ts";
import { signalRow, tradeRow } from "./live_rows.ts";
import { type PageAssets, pageResponse, Shell } from "./layout.tsx";
import {
  actorOf,
  requireCsrfToken,
  requireSession,
  type SessionDeps,
  type WebEnv,
} from "./session.ts";

/** What the main page uses. */
export interface DashboardDeps extends SessionDeps {
  readonly operator: Operator;
  readonly clock: Clock;
  readonly assets: PageAssets;
  /** The chart bundle's hashed URL. */
  readonly chartsBundle: string;
}

/** How many recent trades and signals the main page lists. */
const RECENT_ROWS = 10;

/** `GET /`, `GET /api/summary`, `GET /control/:name`, `POST /control/:name`. */
export function createDashboardRoutes(deps: DashboardDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { operator } = deps;
  app.use("/", requireSession(deps));
  app.use("/api/summary", requireSession(deps));
  app.use("/control/*", requireSession(deps));
  const summaryOf = async (lang: Lang): Promise<SummaryData> => {
    const [status, health, orders, params] = await Promise.all([
      operator.status(),
      operator.health(),
      operator.openOrders(),
      operator.params(),
    ]);
    return {
      lang,
      nowMs: deps.clock.nowMs(),
      status,
      health,
      orders,
      maxDailyLossPct: params.params.find((p) => p.name === "max-daily-loss")?.value,
    };
  };
  app.get("/", async (c) => {
    const lang = c.get("lang");
    const text = dashboardText(lang);
    const [summary, trades, signals, audit] = await Promise.all([
      summaryOf(lang),
      operator.recentTrades({ limit: RECENT_ROWS }),
      operator.recentSignals({ limit: RECENT_ROWS }),
      operator.auditLog({ limit: 1 }),
    ]);
    const last = audit[0];
    return pageResponse(
      c,
      <DashboardPage
        data={{
          ...summary,
          trades: trades.map((t) => tradeRow(t, text)),
          signals: signals.map((s) => signalRow(s, text)),
          listLimit: RECENT_ROWS,
          lastCommand: last === undefined
            ? null
            : `${last.command}: ${last.result}, ${last.detail}`,
          csrfToken: c.get("session").csrfToken,
          nonce: c.get("secureHeadersNonce") ?? "",
          assets: deps.assets,
          chartsBundle: deps.chartsBundle,
          path: c.req.path,
        }}
      />,
    );
  });
  app.get("/api/summary", async (c) => {
    const summary = await summaryOf(c.get("lang"));
    return c.html(renderToString(<Summary data={summary} />), 200, {
      "cache-control": "no-store",
    });
  });
  app.get("/control/:name", (c) => {
    const name = controlOf(c.req.param("name"));
    return pageResponse(
      c,
      <ConfirmPage
        name={name}
        lang={c.get("lang")}
        csrfToken={c.get("session").csrfToken}
        assets={deps.assets}
      />,
    );
  });
  app.post("/control/:name", requireCsrfToken(), async (c) => {
    const name = controlOf(c.req.param("name"));
    await requireConfirmation(c);
    await operator.execute(actorOf(c.get("session")), commandOf(name));
    return c.redirect("/", 303);
  });
  return app;
}

function controlOf(name: string): ControlName {
  if (!isControl(name)) throw new HTTPException(404, { message: "no such control" });
  return name;
}

/** The confirmation of one control: what it does, Confirm (a form post) or Cancel. */
function ConfirmPage(
  props: {
    readonly name: ControlName;
    readonly lang: Lang;
    readonly csrfToken: string;
    readonly assets: PageAssets;
  },
): VNode {
  const text = controlText(props.lang, props.name);
  return (
    <Shell title={`${text.question} · upbit-trader`} assets={props.assets} lang={props.lang}>
      <main class="confirm">
        <h1>{text.question}</h1>
        <p>{text.effect}</p>
        <form method="post" action={`/control/${props.name}`}>
          <CsrfField token={props.csrfToken} />
          <input type="hidden" name="confirm" value="yes" />
          <button type="submit" class={text.danger ? "danger" : ""}>{text.confirm}</button>
        </form>
        <a class="button secondary" href="/">{messagesOf(props.lang)("common.cancel")}</a>
      </main>
    </Shell>
  );
}
