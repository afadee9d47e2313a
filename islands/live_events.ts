/**
 * The page's one live connection: an `EventSource` on `/api/events` shared by every island.
 * EventSource reconnects by itself after a dropped stream and sends `Last-Event-ID`; when it
 * gives up (an error answer, e.g. the server restarting), this module opens a new one after a
 * growing pause (1 s to 15 s) with `?after=<last id>`, so no event is missed either way.
 */

import { signal } from "@preact/signals";

/** An event as the server sends it: the engine event's JSON, plus a display row for some. */
export interface LiveEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Every engine event type the server names (`event:` of each message). */
const TYPES = [
  "SignalRaised",
  "SignalFailed",
  "OrderSubmitted",
  "OrderFilled",
  "OrderRejected",
  "RiskTriggered",
  "ErrorRaised",
  "StateChanged",
  "CommandExecuted",
  "ReconciliationFailed",
] as const;

/** Whether the stream is open (false while reconnecting). */
export const live = signal(false);

const listeners = new Set<(event: LiveEvent) => void>();
let source: EventSource | undefined;
let lastId = "";
let pauseMs = 1_000;

/** Calls `listener` with every event from now on (opening the connection on first use). */
export function onLiveEvent(listener: (event: LiveEvent) => void): () => void {
  listeners.add(listener);
  if (source === undefined) open();
  return () => listeners.delete(listener);
}

function open(): void {
  const es = new EventSource(
    lastId === "" ? "/api/events" : `/api/events?after=${encodeURIComponent(lastId)}`,
  );
  source = es;
  es.onopen = () => {
    live.value = true;
    pauseMs = 1_000;
  };
  es.onerror = () => {
    live.value = false;
    if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    setTimeout(open, pauseMs);
    pauseMs = Math.min(15_000, pauseMs * 2);
  };
  for (const type of TYPES) {
    es.addEventListener(type, (e) => {
      const message = e as MessageEvent<string>;
      if (message.lastEventId !== "") lastId = message.lastEventId;
      const event = JSON.parse(message.data) as LiveEvent;
      for (const listener of listeners) listener(event);
    });
  }
}
