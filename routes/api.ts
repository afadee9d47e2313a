/**
 * The JSON API of the page (for the islands): `GET /api/status` (the operator's status) and
 * `POST /api/control` (`{ "kind": "pause" | "resume" | "stop", "confirmed": true }` with the
 * session's token in `X-CSRF-Token`), answering the operator's outcome.
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

const CONTROL_BODY = z.object({
  kind: z.enum(CONTROLS),
  confirmed: z.literal(true, { error: "must be true (ask the user first)" }),
}).strict();

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
    const outcome = await deps.operator.execute(
      actorOf(c.get("session")),
      commandOf(parsed.data.kind),
    );
    const { id, atMs, command, result, detail } = outcome;
    return c.json({ id, atMs, command, result, detail, status: outcome.status });
  });
  app.on(["GET", "PUT", "PATCH", "DELETE"], "/api/control", (c) => {
    return c.json({ error: "use POST" }, 405, { allow: "POST" });
  });
  return app;
}
