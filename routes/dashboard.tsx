/**
 * The main page (`GET /`) and the controls behind a confirmation: `GET /control/<name>` asks,
 * `POST /control/<name>` (the session's CSRF token and `confirm=yes`) calls the operator as
 * `web:<session>` and goes back to the main page, which shows the command's outcome.
 */

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { VNode } from "preact";
import { z } from "zod";
import type { Clock, Operator } from "../engine/mod.ts";
import { CsrfField } from "./auth.tsx";
import { commandOf, CONTROL_TEXT, type ControlName, isControl } from "./controls.ts";
import { DashboardPage } from "./dashboard_page.tsx";
import { type PageAssets, renderPage, Shell } from "./layout.tsx";
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
}

/** How many recent trades the main page lists. */
const RECENT_TRADES = 10;

const CONFIRM_FORM = z.object({ confirm: z.literal("yes") });

/** `GET /`, `GET /control/:name`, `POST /control/:name`. */
export function createDashboardRoutes(deps: DashboardDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { operator } = deps;
  app.use("/", requireSession(deps));
  app.use("/control/*", requireSession(deps));
  app.get("/", async (c) => {
    const [status, orders, trades, params, audit] = await Promise.all([
      operator.status(),
      operator.openOrders(),
      operator.recentTrades({ limit: RECENT_TRADES }),
      operator.params(),
      operator.auditLog({ limit: 1 }),
    ]);
    const last = audit[0];
    const staleS = params.params.find((p) => p.name === "stale-after")?.value;
    const html = renderPage(
      <DashboardPage
        data={{
          nowMs: deps.clock.nowMs(),
          status,
          orders,
          trades,
          maxDailyLossPct: params.params.find((p) => p.name === "max-daily-loss")?.value,
          staleAfterMs: staleS === undefined ? 120_000 : staleS * 1000,
          lastCommand: last === undefined
            ? null
            : `${last.command}: ${last.result}, ${last.detail}`,
          csrfToken: c.get("session").csrfToken,
          nonce: c.get("secureHeadersNonce") ?? "",
          assets: deps.assets,
        }}
      />,
    );
    return c.html(html, 200, { "cache-control": "no-store" });
  });
  app.get("/control/:name", (c) => {
    const name = controlOf(c.req.param("name"));
    return c.html(
      renderPage(
        <ConfirmPage name={name} csrfToken={c.get("session").csrfToken} assets={deps.assets} />,
      ),
      200,
      { "cache-control": "no-store" },
    );
  });
  app.post("/control/:name", requireCsrfToken(), async (c) => {
    const name = controlOf(c.req.param("name"));
    if (!CONFIRM_FORM.safeParse(await c.req.parseBody()).success) {
      throw new HTTPException(400, { message: "confirm: must be yes (use the confirmation page)" });
    }
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
  props: { readonly name: ControlName; readonly csrfToken: string; readonly assets: PageAssets },
): VNode {
  const text = CONTROL_TEXT[props.name];
  return (
    <Shell title={`${text.question} · upbit-trader`} assets={props.assets}>
      <main class="confirm">
        <h1>{text.question}</h1>
        <p>{text.effect}</p>
        <form method="post" action={`/control/${props.name}`}>
          <CsrfField token={props.csrfToken} />
          <input type="hidden" name="confirm" value="yes" />
          <button type="submit" class={text.danger ? "danger" : ""}>{text.confirm}</button>
        </form>
        <a class="button secondary" href="/">Cancel</a>
      </main>
    </Shell>
  );
}
