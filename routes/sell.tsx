/**
 * Selling one market, behind a confirmation: `GET /sell/<market>` shows what would be sold and
 * asks; `POST /sell/<market>` (the session's CSRF token and `confirm=yes`) sends the operator's
 * `sell` command as `web:<session>` and goes back to the main page, which shows the command's
 * outcome. Only a market the bot trades has a page; anything else is 404.
 */

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { VNode } from "preact";
import {
  type BotStatus,
  formatPrice,
  formatVolume,
  type MarketStatus,
  type Operator,
  parseUnits,
} from "../engine/mod.ts";
import { CsrfField } from "./auth.tsx";
import { requireConfirmation } from "./confirm.ts";
import { type Lang, messagesOf } from "./i18n.ts";
import { type PageAssets, pageResponse, SitePage } from "./layout.tsx";
import {
  actorOf,
  requireCsrfToken,
  requireSession,
  type SessionDeps,
  type WebEnv,
} from "./session.ts";

/** What the sell routes use. */
export interface SellDeps extends SessionDeps {
  readonly operator: Operator;
  readonly assets: PageAssets;
}

const MARKET = /^KRW-[A-Z0-9]{1,15}$/;
/** The traded market named in the URL, or 404. */
function marketOf(status: BotStatus, name: string): MarketStatus {
  const market = MARKET.test(name) ? status.markets.find((m) => m.market === name) : undefined;
  if (market === undefined) throw new HTTPException(404, { message: "no such market" });
  return market;
}

/** `GET /sell/:market` and `POST /sell/:market`. */
export function createSellRoutes(deps: SellDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { operator } = deps;
  app.use("/sell/*", requireSession(deps));
  app.get("/sell/:market", async (c) => {
    const market = marketOf(await operator.status(), c.req.param("market"));
    const url = new URL(c.req.url);
    return pageResponse(
      c,
      <SellPage
        lang={c.get("lang")}
        path={url.pathname}
        market={market}
        nowMs={deps.clock.nowMs()}
        csrfToken={c.get("session").csrfToken}
        assets={deps.assets}
      />,
    );
  });
  app.post("/sell/:market", requireCsrfToken(), async (c) => {
    const market = marketOf(await operator.status(), c.req.param("market"));
    await requireConfirmation(c);
    await operator.execute(actorOf(c.get("session")), { kind: "sell", market: market.market });
    return c.redirect("/", 303);
  });
  app.on(["PUT", "PATCH", "DELETE"], "/sell/:market", (c) => {
    return c.text("use GET to ask, POST to confirm", 405, { allow: "GET, POST" });
  });
  return app;
}

/** The confirmation: what is held, what selling does, Confirm (a form post) or Cancel. */
function SellPage(
  props: {
    readonly lang: Lang;
    readonly path: string;
    readonly market: MarketStatus;
    /** Now (the tick table of the average price). */
    readonly nowMs: number;
    readonly csrfToken: string;
    readonly assets: PageAssets;
  },
): VNode {
  const t = messagesOf(props.lang);
  const { market: name, position } = props.market;
  return (
    <SitePage
      title={t("sell.question", { market: name })}
      lang={props.lang}
      current={null}
      path={props.path}
      csrfToken={props.csrfToken}
      assets={props.assets}
    >
      <div class="confirm">
        <p>{t("sell.effect", { market: name })}</p>
        <p>
          <strong>
            {position === null ? t("sell.flat", { market: name }) : t("sell.holding", {
              volume: formatVolume(parseUnits(position.volume)),
              price: formatPrice(parseUnits(position.avgPrice), {
                atMs: props.nowMs,
                market: name,
              }),
            })}
          </strong>
        </p>
        <form method="post" action={`/sell/${name}`}>
          <CsrfField token={props.csrfToken} />
          <input type="hidden" name="confirm" value="yes" />
          <button type="submit" class="danger">{t("sell.confirm", { market: name })}</button>
        </form>
        <a class="button secondary" href="/">{t("common.cancel")}</a>
      </div>
    </SitePage>
  );
}
