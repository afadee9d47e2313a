/**
 * The browser's entry (bundled by `deno task build` into `static/islands.js`): hydrates every
 * island the server rendered, found by its `data-island` name, with the JSON props it left in
 * `data-props`.
 */

import { type FunctionComponent, h, hydrate } from "preact";
import LiveStatus from "./LiveStatus.tsx";

/** Every island, by the name the server writes in `data-island`. */
// deno-lint-ignore no-explicit-any
const ISLANDS: Readonly<Record<string, FunctionComponent<any>>> = { LiveStatus };

for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const island = ISLANDS[el.dataset.island ?? ""];
  if (island === undefined) continue;
  hydrate(h(island, JSON.parse(el.dataset.props ?? "{}")), el);
}
