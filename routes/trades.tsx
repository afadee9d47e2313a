/**
 * The trades page: every fill, newest first, in pages (`GET /trades`, `?cursor=…` for older and
 * `?before=…` for newer; the operator's `tradesPage` read model reads only the page from the
 * store, so 10,000 trades cost what 50 do), and the whole list as CSV (`GET /trades.csv`), streamed page by page with the exact
 * decimal strings of the store. The open positions are listed first, each with its sell control.
 */

import { Hono } from "hono";
import type { VNode } from "preact";
import {
  formatDateTime,
  formatPrice,
  formatVolume,
  type MarketStatus,
  type Operator,
  parseUnits,
  type TradeView,
} from "../engine/mod.ts";
import { type Lang, messagesOf } from "./i18n.ts";
import { type PageAssets, pageResponse, SitePage } from "./layout.tsx";
import { requireSession, type SessionDeps, type WebEnv } from "./session.ts";

/** Trades per page. */
export const TRADES_PER_PAGE = 50;
/** Trades per store read while streaming the CSV. */
const CSV_CHUNK = 500;

/** What the trades routes use. */
export interface TradesDeps extends SessionDeps {
  readonly operator: Operator;
  readonly assets: PageAssets;
}

/** The CSV's columns, in order. */
const CSV_HEADER = [
  "time_utc",
  "ts_ms",
  "market",
  "side",
  "price",
  "volume",
  "funds",
  "fee",
  "order_uuid",
  "trade_uuid",
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
 * doubled. Text a spreadsheet would run as a formula (`=`, `+`, `@`, a tab or CR first, or `-`
 * not starting a number) gets a leading `'`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(csvCell('a,"b"'), '"a,""b"""');
 * assert.equal(csvCell("-0.5"), "-0.5");
 * assert.equal(csvCell("=1+1"), "'=1+1");
 * ```
 */
export function csvCell(text: string): string {
  const safe = /^[=+@\t\r]/.test(text) || /^-(?!\d)/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One trade as a CSV line (CRLF-terminated), amounts exactly as stored. */
export function csvLine(t: TradeView): string {
  return [
    new Date(t.atMs).toISOString(),
    String(t.atMs),
    t.market,
    t.side,
    t.price,
    t.volume,
    t.funds,
    t.fee,
    t.orderUuid,
    t.tradeUuid,
  ].map(csvCell).join(",") + "\r\n";
}

/** `GET /trades` and `GET /trades.csv`. */
export function createTradesRoutes(deps: TradesDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { operator } = deps;
  app.use("/trades", requireSession(deps));
  app.use("/trades.csv", requireSession(deps));
  app.get("/trades", async (c) => {
    const lang = c.get("lang");
    const cursor = c.req.query("cursor");
    const before = c.req.query("before");
    const [page, status] = await Promise.all([
      operator.tradesPage({
        limit: TRADES_PER_PAGE,
        ...(cursor === undefined ? {} : { cursor }),
        ...(before === undefined ? {} : { before }),
      }),
      operator.status(),
    ]);
    const url = new URL(c.req.url);
    return pageResponse(
      c,
      <TradesPage
        lang={lang}
        path={url.pathname + url.search}
        csrfToken={c.get("session").csrfToken}
        assets={deps.assets}
        positions={status.markets.filter((m) => m.position !== null)}
        nowMs={deps.clock.nowMs()}
        trades={page.ok ? page.value.trades : []}
        next={page.ok ? page.value.next : null}
        prev={page.ok ? page.value.prev : null}
        paged={cursor !== undefined || before !== undefined}
        error={page.ok
          ? null
          : messagesOf(lang)("trades.badCursor", { field: page.error.split(":")[0]! })}
      />,
      page.ok ? 200 : 400,
    );
  });
  app.get("/trades.csv", (c) => {
    const encoder = new TextEncoder();
    let cursor: string | undefined;
    let started = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!started) {
          started = true;
          controller.enqueue(encoder.encode(CSV_HEADER.join(",") + "\r\n"));
        }
        const page = await operator.tradesPage({
          limit: CSV_CHUNK,
          ...(cursor === undefined ? {} : { cursor }),
        });
        if (!page.ok) throw new Error(page.error);
        const text = page.value.trades.map(csvLine).join("");
        if (text !== "") controller.enqueue(encoder.encode(text));
        if (page.value.next === null) controller.close();
        else cursor = page.value.next;
      },
    });
    const day = new Date(deps.clock.nowMs()).toISOString().slice(0, 10);
    return c.body(body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="upbit-trader-trades-${day}.csv"`,
      "cache-control": "no-store",
    });
  });
  return app;
}

function TradesPage(
  props: {
    readonly lang: Lang;
    readonly path: string;
    readonly csrfToken: string;
    readonly assets: PageAssets;
    readonly positions: readonly MarketStatus[];
    /** Now (the tick table of the average prices). */
    readonly nowMs: number;
    readonly trades: readonly TradeView[];
    readonly next: string | null;
    readonly prev: string | null;
    /** Not the first page (the newest link shows). */
    readonly paged: boolean;
    readonly error: string | null;
  },
): VNode {
  const t = messagesOf(props.lang);
  return (
    <SitePage
      title={t("trades.title")}
      lang={props.lang}
      current="trades"
      path={props.path}
      csrfToken={props.csrfToken}
      assets={props.assets}
    >
      {props.positions.length === 0 ? null : (
        <section class="card" aria-label={t("sell.title")}>
          <ul class="rows">
            {props.positions.map((m) => (
              <li key={m.market} class="split">
                <span>
                  <strong>{m.market}</strong>{" "}
                  <span class="muted">
                    {formatVolume(parseUnits(m.position!.volume))} @{" "}
                    {formatPrice(parseUnits(m.position!.avgPrice), {
                      atMs: props.nowMs,
                      market: m.market,
                    })}
                  </span>
                </span>
                <a class="button danger small" href={`/sell/${m.market}`}>
                  {t("sell.button", { market: m.market })}
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}
      <p class="actions">
        <a class="button secondary" href="/trades.csv" download>{t("trades.csv")}</a>
      </p>
      {props.error === null ? null : <p class="error" role="alert">{props.error}</p>}
      {props.trades.length === 0 && props.error === null
        ? <p class="muted">{t("trades.empty")}</p>
        : (
          <ol class="rows trades">
            {props.trades.map((tr) => <TradeRow key={tr.tradeUuid} trade={tr} lang={props.lang} />)}
          </ol>
        )}
      <nav class="pager" aria-label={t("trades.title")}>
        {props.paged ? <a href="/trades">{t("common.first")}</a> : <span />}
        {props.prev === null
          ? <span />
          : (
            <a href={`/trades?before=${encodeURIComponent(props.prev)}`} rel="prev">
              {t("common.newer")}
            </a>
          )}
        {props.next === null
          ? <span />
          : (
            <a href={`/trades?cursor=${encodeURIComponent(props.next)}`} rel="next">
              {t("common.older")}
            </a>
          )}
      </nav>
    </SitePage>
  );
}

function TradeRow(props: { readonly trade: TradeView; readonly lang: Lang }): VNode {
  const t = messagesOf(props.lang);
  const tr = props.trade;
  const buy = tr.side === "bid";
  return (
    <li data-trade={tr.tradeUuid}>
      <span class="split">
        <span>
          <strong class={buy ? "pos" : "neg"}>{buy ? t("trades.buy") : t("trades.sell")}</strong>
          {" "}
          {tr.market}
        </span>
        <span class="muted">{formatDateTime(tr.atMs)} UTC</span>
      </span>
      <span class="muted">
        {t("trades.price")} {formatVolume(parseUnits(tr.price))} · {t("trades.volume")}{" "}
        {formatVolume(parseUnits(tr.volume))}
      </span>
      <span class="muted">
        {t("trades.funds")} {formatVolume(parseUnits(tr.funds))} KRW · {t("trades.fee")}{" "}
        {formatVolume(parseUnits(tr.fee))} KRW
      </span>
    </li>
  );
}
