/**
 * The bot's state badge, kept live in the browser: server-rendered from its props, then, once
 * hydrated, updated by the `StateChanged` events of the page's live connection, with a dot that
 * says whether the connection is open (`live_events.ts`).
 */

import { signal } from "@preact/signals";
import type { VNode } from "preact";
import { useEffect, useMemo } from "preact/hooks";
import { live, onLiveEvent } from "./live_events.ts";

/** The switches the badge shows (JSON, from the operator's status). */
export interface LiveStatusProps {
  readonly running: boolean;
  readonly paused: boolean;
  readonly safeMode: boolean;
  readonly halted: boolean;
  /** The state words and the connection's, in the page's language. */
  readonly words: StateWords;
}

/** The badge's words in the page's language. */
export interface StateWords {
  readonly halted: string;
  readonly notRunning: string;
  readonly safeMode: string;
  readonly paused: string;
  readonly running: string;
  readonly live: string;
  readonly reconnecting: string;
}

/** The state in one word, and its tone. */
export function stateOf(
  s: Omit<LiveStatusProps, "words">,
): { readonly state: keyof StateWords; readonly tone: "ok" | "warn" | "bad" } {
  if (s.halted) return { state: "halted", tone: "bad" };
  if (!s.running) return { state: "notRunning", tone: "bad" };
  if (s.safeMode) return { state: "safeMode", tone: "warn" };
  if (s.paused) return { state: "paused", tone: "warn" };
  return { state: "running", tone: "ok" };
}

/** The live badge. */
export default function LiveStatus(props: LiveStatusProps): VNode {
  const state = useMemo(() => signal(props), []);
  useEffect(() =>
    onLiveEvent((event) => {
      if (event.type === "StateChanged") state.value = { ...state.value, ...pick(event) };
    }), []);
  const { state: key, tone } = stateOf(state.value);
  const on = live.value;
  return (
    <span class="status">
      <span class={`badge ${tone}`} data-state={key}>{props.words[key]}</span>
      <span
        class={`dot${on ? " on" : ""}`}
        data-live={on ? "on" : "off"}
        title={on ? props.words.live : props.words.reconnecting}
      />
    </span>
  );
}

function pick(e: Readonly<Record<string, unknown>>): Partial<LiveStatusProps> {
  const out: { -readonly [K in "paused" | "safeMode" | "halted"]?: boolean } = {};
  for (const key of ["paused", "safeMode", "halted"] as const) {
    const value = e[key];
    if (typeof value === "boolean") out[key] = value;
  }
  return out;
}
