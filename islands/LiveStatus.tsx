/**
 * The bot's state badge, kept live in the browser: server-rendered from its props, then, once
 * hydrated, updated by the `StateChanged` events of `/api/events` (EventSource reconnects by
 * itself and resumes after the last event id).
 */

import { signal } from "@preact/signals";
import type { VNode } from "preact";
import { useEffect, useMemo } from "preact/hooks";

/** The switches the badge shows (JSON, from the operator's status). */
export interface LiveStatusProps {
  readonly running: boolean;
  readonly paused: boolean;
  readonly safeMode: boolean;
  readonly halted: boolean;
}

/** The state in one word, and its tone. */
export function stateOf(
  s: LiveStatusProps,
): { readonly text: string; readonly tone: "ok" | "warn" | "bad" } {
  if (s.halted) return { text: "Halted", tone: "bad" };
  if (!s.running) return { text: "Not running", tone: "bad" };
  if (s.safeMode) return { text: "Safe mode", tone: "warn" };
  if (s.paused) return { text: "Paused", tone: "warn" };
  return { text: "Running", tone: "ok" };
}

/** The live badge. */
export default function LiveStatus(props: LiveStatusProps): VNode {
  const state = useMemo(() => signal(props), []);
  useEffect(() => {
    const source = new EventSource("/api/events");
    source.addEventListener("StateChanged", (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as Partial<LiveStatusProps>;
      state.value = { ...state.value, ...pick(event) };
    });
    return () => source.close();
  }, []);
  const { text, tone } = stateOf(state.value);
  return <span class={`badge ${tone}`} data-state={text}>{text}</span>;
}

function pick(e: Partial<LiveStatusProps>): Partial<LiveStatusProps> {
  const out: { -readonly [K in keyof LiveStatusProps]?: boolean } = {};
  for (const key of ["paused", "safeMode", "halted"] as const) {
    if (typeof e[key] === "boolean") out[key] = e[key];
  }
  return out;
}
