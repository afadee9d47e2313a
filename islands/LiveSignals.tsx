/**
 * The recent signals with their reasons, kept live: server-rendered from its rows, then each
 * `SignalRaised` event adds its row on top and a `SignalFailed` one marks its signal as not
 * executed (the server formats the rows).
 */

import { signal } from "@preact/signals";
import type { VNode } from "preact";
import { useEffect, useMemo } from "preact/hooks";
import { onLiveEvent } from "./live_events.ts";

/** One signal as the page shows it. */
export interface SignalRow {
  readonly id: string;
  readonly market: string;
  readonly action: "buy" | "sell";
  /** The action in the page's language. */
  readonly actionText: string;
  readonly reason: string;
  readonly when: string;
  /** Empty, or why it shows as not executed. */
  readonly note: string;
}

/** The signal list's props. */
export interface LiveSignalsProps {
  readonly rows: readonly SignalRow[];
  readonly limit: number;
  readonly empty: string;
}

/** The live list of recent signals. */
export default function LiveSignals(props: LiveSignalsProps): VNode {
  const rows = useMemo(() => signal(props.rows), []);
  useEffect(() =>
    onLiveEvent((event) => {
      if (event.type !== "SignalRaised" && event.type !== "SignalFailed") return;
      const row = event["row"] as SignalRow | undefined;
      if (row === undefined) return;
      const rest = rows.value.filter((r) => r.id !== row.id);
      const old = rows.value.find((r) => r.id === row.id);
      rows.value = [{ ...row, when: old?.when ?? row.when }, ...rest].slice(0, props.limit);
    }), []);
  if (rows.value.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <ul class="rows signals">
      {rows.value.map((r) => (
        <li key={r.id}>
          <span>
            {r.market} <b class={r.action === "buy" ? "pos" : "neg"}>{r.actionText}</b>
            {r.note === "" ? null : <span class="neg">{` · ${r.note}`}</span>}
          </span>
          <span>{r.reason}</span>
          <span class="muted">{r.when}</span>
        </li>
      ))}
    </ul>
  );
}
