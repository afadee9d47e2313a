/**
 * Live updates: `GET /api/events`, Server-Sent Events fed by the engine's event stream
 * (`EventStream.follow`, the KV journal). Each event goes out with its journal id, so a browser
 * that reconnects (EventSource does by itself) sends `Last-Event-ID` and resumes after the last
 * event it saw, missing nothing. A new client starts after the newest stored event (no replay of
 * the whole journal). The stream ends when the client goes away or its session expires.
 * A fill or a signal also carries its `row` for the page's lists, formatted on the server in the
 * request's language (`live_rows.ts`).
 */

import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Clock, EventStream, JournalEntry } from "../engine/mod.ts";
import { type DashboardText, dashboardText } from "./dashboard_text.ts";
import { signalRow, tradeRow } from "./live_rows.ts";
import { requireSession, type SessionDeps, type WebEnv } from "./session.ts";

/** What the event route uses. */
export interface EventDeps extends SessionDeps {
  readonly events: Pick<EventStream, "follow" | "lastId">;
  readonly clock: Clock;
  /** How often the journal is polled between notifies (default 1 s). */
  readonly pollMs?: number;
  /** Aborts at the server's shutdown: every stream ends (a server waits for open answers). */
  readonly closing?: AbortSignal;
}

/** A journal id: `<tsMs>-<seq>`. */
const EVENT_ID = /^\d{1,16}-\d{1,20}$/;

/** `GET /api/events`. */
export function createEventRoutes(deps: EventDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
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
      try {
        for await (
          const entry of deps.events.follow({
            ...(afterId === undefined ? {} : { afterId }),
            signal: done.signal,
            ...(deps.pollMs === undefined ? {} : { pollMs: deps.pollMs }),
          })
        ) {
          await stream.writeSSE({
            id: entry.id,
            event: entry.event.type,
            data: JSON.stringify(withRow(entry, text)),
          });
        }
      } finally {
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
