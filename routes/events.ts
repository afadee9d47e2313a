/**
 * Live updates: `GET /api/events`, Server-Sent Events fed by the engine's event stream (the KV
 * journal, read once per entry for every open stream by the `EventHub`; a resuming stream first
 * catches up from the journal itself). Each event goes out with its journal id, so a browser
 * that reconnects (EventSource does by itself) sends `Last-Event-ID` and resumes after the last
 * event it saw, missing nothing. A new client starts after the newest stored event (no replay of
 * the whole journal). The stream ends when the client goes away or its session expires.
 * A fill or a signal also carries its `row` for the page's lists, formatted on the server in the
 * request's language (`live_rows.ts`).
 */

import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Clock, EventStream, JournalEntry, Logger } from "../engine/mod.ts";
import { EventHub, idAfter } from "./event_hub.ts";
import { type DashboardText, dashboardText } from "./dashboard_text.ts";
import { signalRow, tradeRow } from "./live_rows.ts";
import { requireSession, type SessionDeps, type WebEnv } from "./session.ts";

/** What the event route uses. */
export interface EventDeps extends SessionDeps {
  readonly events: Pick<EventStream, "follow" | "lastId" | "read">;
  readonly clock: Clock;
  readonly log?: Logger;
  /** How often the journal is polled between notifies (default 1 s). */
  readonly pollMs?: number;
  /** Aborts at the server's shutdown: every stream ends (a server waits for open answers). */
  readonly closing?: AbortSignal;
}

/** A journal id: `<tsMs>-<seq>`. */
const EVENT_ID = /^\d{1,16}-\d{1,20}$/;
/** Journal entries a resuming stream reads per batch. */
const CATCH_UP_BATCH = 100;
/** Live entries one stream may have waiting before it is dropped (and reconnects). */
const MAX_QUEUED = 10_000;

/** `GET /api/events`. */
export function createEventRoutes(deps: EventDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const hub = new EventHub(deps.events, {
    ...(deps.pollMs === undefined ? {} : { pollMs: deps.pollMs }),
    ...(deps.log === undefined ? {} : { log: deps.log }),
  });
  app.get("/api/events", requireSession(deps), async (c) => {
    const session = c.get("session");
    const text = dashboardText(c.get("lang"));
    const asked = c.req.header("last-event-id") ?? c.req.query("after");
    const afterId = asked !== undefined && EVENT_ID.test(asked)
      ? asked
      : await deps.events.lastId();
    const res = streamSSE(c, async (stream) => {
      const done = new AbortController();
      stream.onAbort(() => done.abort());
      const close = () => done.abort();
      deps.closing?.addEventListener("abort", close, { once: true });
      if (deps.closing?.aborted === true) done.abort();
      // The session's end closes the stream (the browser then gets 401 on reconnecting).
      const left = session.expiresAtMs - deps.clock.nowMs();
      void deps.clock.sleep(Math.max(0, left), done.signal).then(() => done.abort());
      // A dropped stream (a restart) is retried after 1 s, not the browser's default 3 s.
      await stream.write("retry: 1000\n\n");
      // Live entries from the shared follower wait here while the stream catches up.
      const queue: JournalEntry[] = [];
      let wake = () => {};
      const detach = await hub.attach((entry) => {
        queue.push(entry);
        // A client that cannot keep up is dropped: it reconnects and catches up from KV.
        if (queue.length > MAX_QUEUED) done.abort();
        wake();
      }, () => done.abort());
      const write = (entry: JournalEntry) =>
        stream.writeSSE({
          id: entry.id,
          event: entry.event.type,
          data: JSON.stringify(withRow(entry, text)),
        });
      let cursor = afterId;
      try {
        while (!done.signal.aborted) {
          const batch = await deps.events.read({
            ...(cursor === undefined ? {} : { afterId: cursor }),
            limit: CATCH_UP_BATCH,
          });
          for (const entry of batch) {
            if (done.signal.aborted) break;
            await write(entry);
            cursor = entry.id;
          }
          if (batch.length < CATCH_UP_BATCH) break;
        }
        while (!done.signal.aborted) {
          for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
            if (done.signal.aborted) break;
            if (!idAfter(entry.id, cursor)) continue;
            await write(entry);
            cursor = entry.id;
          }
          if (done.signal.aborted) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            done.signal.addEventListener("abort", () => resolve(), { once: true });
            if (queue.length > 0) resolve();
          });
          wake = () => {};
        }
      } finally {
        detach();
        done.abort();
        deps.closing?.removeEventListener("abort", close);
      }
    });
    // Private data: never kept by a cache (streamSSE says only no-cache).
    res.headers.set("cache-control", "no-store");
    return res;
  });
  return app;
}

/** The event as the page gets it: with the display row of a fill or a signal. */
function withRow(entry: JournalEntry, text: DashboardText): object {
  const e = entry.event;
  if (e.type === "OrderFilled") return { ...e, row: tradeRow(e, text) };
  if (e.type === "SignalRaised" || e.type === "SignalFailed") {
    const signal = {
      id: e.signalId,
      atMs: e.atMs,
      market: e.market,
      action: e.action,
      reason: e.reason,
      executed: e.type === "SignalRaised",
    };
    return { ...e, row: signalRow(signal, text) };
  }
  return e;
}
