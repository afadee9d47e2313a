/**
 * The recent trades, kept live: server-rendered from its rows, then each `OrderFilled` event of
 * the live connection adds its row on top (the server formats rows: one formatter, no number
 * code in the browser).
 */

import { signal } from "@preact/signals";
import type { VNode } from "preact";
import { useEffect, useMemo } from "preact/hooks";
import { onLiveEvent } from "./live_events.ts";

/** One fill as the page shows it. */
export interface TradeRow {
  /** The trade's uuid. */
  readonly id: string;
  readonly market: string;
  readonly side: "bid" | "ask";
  /** `buy` or `sell` in the page's language. */
  readonly sideText: string;
  /** Volume @ price. */
  readonly what: string;
  /** Amount and time. */
  readonly detail: string;
}

/** The trade list's props. */
export interface LiveTradesProps {
  readonly rows: readonly TradeRow[];
  readonly limit: number;
  readonly empty: string;
}

/** The live list of recent trades. */
export default function LiveTrades(props: LiveTradesProps): VNode {
  const rows = useMemo(() => signal(props.rows), []);
  useEffect(() =>
    onLiveEvent((event) => {
      const row = event.type === "OrderFilled" ? event["row"] as TradeRow | undefined : undefined;
      if (row === undefined || rows.value.some((r) => r.id === row.id)) return;
      rows.value = [row, ...rows.value].slice(0, props.limit);
    }), []);
  if (rows.value.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <ul class="rows trades">
      {rows.value.map((r) => (
        <li key={r.id} data-trade={r.id}>
          <span>
            {r.market} <b class={r.side === "bid" ? "pos" : "neg"}>{r.sideText}</b> {r.what}
          </span>
          <span class="muted">{r.detail}</span>
        </li>
      ))}
    </ul>
  );
}
