/**
 * `GET /healthz`: for a load balancer or a service manager. No session, and no data: it says
 * only that the HTTP server answers (the bot's state is behind the login).
 */

import { Hono } from "hono";

/** The health route (it takes no dependencies: it must not read anything). */
export function createHealthRoutes(): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok", 200, { "cache-control": "no-store" }));
  return app;
}
