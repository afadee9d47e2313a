/**
 * The JSON API of the page (for the islands): `GET /api/status` (the operator's status) and
 * `POST /api/control` (`{ "kind": "pause" | "resume" | "stop", "confirmed": true }`, or
 * `{ "kind": "sell", "market": "KRW-BTC", "confirmed": true }`, with the session's token in
 * `X-CSRF-Token`), answering the operator's outcome.
 */

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { type Operator, statusJson } from "../engine/mod.ts";
import { commandOf, CONTROLS } from "./controls.ts";
import {
  actorOf,
  requireCsrfToken,
  requireSession,
  type SessionDeps,
  type WebEnv,
} from "./session.ts";

/** What the API uses. */
export interface ApiDeps extends SessionDeps {
  readonly operator: Operator;
}

const CONFIRMED = z.literal(true, { error: "must be true (ask the user first)" });

const CONTROL_BODY = z.discriminatedUnion("kind", [
  z.object({ kind: z.enum(CONTROLS), confirmed: CONFIRMED }).strict(),
  z.object({
    kind: z.literal("sell"),
    market: z.string().regex(/^KRW-[A-Z0-9]{1,15}$/, "expected a KRW market like KRW-BTC"),
    confirmed: CONFIRMED,
  }).strict(),
], { error: `expected kind ${CONTROLS.join(", ")} or sell` });

/** `/api/status` and `/api/control`. */
export function createApiRoutes(deps: ApiDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use("/api/*", requireSession(deps));
  app.get("/api/status", async (c) => {
    return c.json(statusJson(await deps.operator.status()), 200, { "cache-control": "no-store" });
  });
  app.post("/api/control", requireCsrfToken(), async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HTTPException(400, { message: "body: must be JSON" });
    }
    const parsed = CONTROL_BODY.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length === 0 ? "body" : issue.path.join(".");
      throw new HTTPException(400, { message: `${field}: ${issue.message}` });
    }
    const asked = parsed.data;
    const outcome = await deps.operator.execute(
      actorOf(c.get("session")),
      asked.kind === "sell" ? { kind: "sell", market: asked.market } : commandOf(asked.kind),
    );
    const { id, atMs, command, result, detail } = outcome;
    return c.json({ id, atMs, command, result, detail, status: outcome.status });
  });
  app.on(["GET", "PUT", "PATCH", "DELETE"], "/api/control", (c) => {
    return c.json({ error: "use POST" }, 405, { allow: "POST" });
  });
  return app;
}
