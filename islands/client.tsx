/**
 * The browser's entry (bundled by `deno task build` into `static/islands.js`): hydrates every
 * island the server rendered, found by its `data-island` name, with the JSON props it left in
 * `data-props`; and keeps each `data-live-src` block (health, account, positions, orders)
 * current by fetching its server-rendered HTML again after the events that change it (and every
 * 20 s, for the marks and ages).
 */

import { type FunctionComponent, h, hydrate } from "preact";
import Charts from "./Charts.tsx";
import { onLiveEvent } from "./live_events.ts";
import LiveSignals from "./LiveSignals.tsx";
import LiveStatus from "./LiveStatus.tsx";
import LiveTrades from "./LiveTrades.tsx";

/** Every island, by the name the server writes in `data-island`. */
// deno-lint-ignore no-explicit-any
const ISLANDS: Readonly<Record<string, FunctionComponent<any>>> = {
  Charts,
  LiveSignals,
  LiveStatus,
  LiveTrades,
};

/** The events after which the live blocks are fetched again. */
const CHANGES = new Set([
  "OrderSubmitted",
  "OrderFilled",
  "OrderRejected",
  "RiskTriggered",
  "ErrorRaised",
  "StateChanged",
  "CommandExecuted",
]);

for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const island = ISLANDS[el.dataset.island ?? ""];
  if (island === undefined) continue;
  hydrate(h(island, JSON.parse(el.dataset.props ?? "{}")), el);
}

for (const el of document.querySelectorAll<HTMLElement>("[data-live-src]")) {
  const src = el.dataset.liveSrc!;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = async () => {
    const res = await fetch(src, { headers: { accept: "text/html" } });
    if (res.ok) el.innerHTML = await res.text();
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh().catch(() => {}), 100);
  };
  onLiveEvent((event) => {
    if (CHANGES.has(event.type)) soon();
  });
  setInterval(soon, 20_000);
}
