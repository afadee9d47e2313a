/**
 * The status page as one Hono app, built from its areas' sub-apps (`createXRoutes(deps)`), for
 * the bot's one HTTP server. The order of the middleware is the security design (reliability.md
 * §4):
 *
 * 1. secure headers on every answer: a strict CSP with a per-request nonce, `X-Frame-Options:
 *    DENY`, no referrer; HSTS only when the origin is https;
 * 2. a body limit (16 KB) before any work: a bigger body is 413 before a handler reads it;
 * 3. `hono/csrf` on every post: a form-like post must come from the page's own origin
 *    (`Origin` or `Sec-Fetch-Site: same-origin`), else 403;
 * 4. the request's language (`i18n.ts`: the `lang` cookie, else `Accept-Language`);
 * 5. per area: the session (401, or a redirect to `/login` for pages) and the session's CSRF
 *    token on every post (403), which covers JSON posts too.
 *
 * Errors: an `HTTPException` answers its status with a short text; anything else is logged and
 * answered 500 with a generic text (no detail reaches the client).
 */

import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { NONCE, secureHeaders } from "hono/secure-headers";
import {
  type Clock,
  ConfigError,
  errorLine,
  type EventStream,
  type Logger,
  type LoginAttemptStore,
  type MetricsSource,
  type Operator,
  REPORTS_DIR,
  type Secret,
  type SessionStore,
} from "../engine/mod.ts";
import { createApiRoutes } from "./api.ts";
import { createBacktestRoutes, REPORT_PATH_PREFIX, reportSecureHeaders } from "./backtests.tsx";
import { createAuthRoutes } from "./auth.tsx";
import { createChartRoutes } from "./charts.ts";
import { createDashboardRoutes } from "./dashboard.tsx";
import { createEventRoutes } from "./events.ts";
import { createHealthRoutes } from "./health.ts";
import { handleLangSwitch, languageMiddleware } from "./i18n.ts";
import { createMetricsRoutes } from "./metrics.ts";
import { newSessionId, sessionCookieOf, type WebEnv } from "./session.ts";
import { createStaticRoutes, type StaticAssets } from "./static.ts";
import { createReportsRoutes } from "./reports.tsx";
import { createSellRoutes } from "./sell.tsx";
import { createSettingsPageRoutes } from "./settings_page.tsx";
import { createTradesRoutes } from "./trades.tsx";

export { loadStaticAssets, type StaticAssets } from "./static.ts";

/** The shortest `WEB_PASSWORD` accepted. */
export const MIN_PASSWORD_LENGTH = 16;
/** The largest request body any route reads. */
export const MAX_BODY_BYTES = 16 * 1024;
/** How long a session lasts (12 hours). */
export const SESSION_TTL_MS = 12 * 3_600_000;

/** What the status page uses. */
export interface WebDeps {
  readonly operator: Operator;
  /** The engine's event stream (live updates). */
  readonly events: Pick<EventStream, "follow" | "lastId" | "read">;
  readonly sessions: SessionStore & LoginAttemptStore;
  readonly clock: Clock;
  /** `WEB_PASSWORD`: at least 16 characters. */
  readonly password: Secret;
  /** A Prometheus scraper's bearer token for `/metrics` (none: a session only). */
  readonly metricsToken?: Secret;
  /** The run's telemetry, appended to `/metrics` (none: the status's figures only). */
  readonly metrics?: MetricsSource;
  /**
   * The page's public origin as the browser sees it (`http://127.0.0.1:8080`, or behind a TLS
   * proxy `https://bot.example.com`): the allowed `Origin` of posts and the cookie's kind.
   */
  readonly origin: string;
  readonly assets: StaticAssets;
  readonly log?: Logger;
  /** The client's address, the login rate limit's scope (default: the socket's peer). */
  readonly clientAddress?: (c: Context) => string;
  /** Session ids (default: 256 random bits). */
  readonly newSessionId?: () => string;
  /** Default `SESSION_TTL_MS`. */
  readonly sessionTtlMs?: number;
  /** The folder of the backtester's HTML reports (default `reports/` in the working folder). */
  readonly reportsDir?: string;
  /** Aborts at the server's shutdown (event streams end on it). */
  readonly closing?: AbortSignal;
}

/** The status page; throws a `ConfigError` on a short password or an unsafe origin. */
export function createWebApp(deps: WebDeps): Hono<WebEnv> {
  if (deps.password.reveal().length < MIN_PASSWORD_LENGTH) {
    throw new ConfigError(
      `WEB_PASSWORD: must be at least ${MIN_PASSWORD_LENGTH} characters: current length is ${deps.password.reveal().length}`,
    );
  }
  const cookie = sessionCookieOf(deps.origin);
  const sessionDeps = { sessions: deps.sessions, clock: deps.clock, cookie };
  const pageAssets = {
    css: deps.assets.url("app.css"),
    icon: deps.assets.url("favicon.svg"),
    islands: deps.assets.url("islands.js"),
  };
  const app = new Hono<WebEnv>();
  const pageHeaders = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", NONCE],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
    },
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    strictTransportSecurity: cookie.secure ? "max-age=15552000; includeSubDomains" : false,
  });
  const reportHeaders = reportSecureHeaders({ hsts: cookie.secure });
  // A backtest report (inline scripts, sandboxed) gets its own policy; every other answer the page's.
  app.use((c, next) =>
    c.req.path.startsWith(REPORT_PATH_PREFIX) ? reportHeaders(c, next) : pageHeaders(c, next)
  );
  app.use(bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.text("request body too large", 413),
  }));
  app.use(csrf({ origin: deps.origin }));
  app.use(languageMiddleware());
  app.route("/", createHealthRoutes());
  app.get("/lang/:lang", (c) => handleLangSwitch(c, { secure: cookie.secure }));
  app.route("/", createStaticRoutes(deps.assets));
  app.route(
    "/",
    createAuthRoutes({
      ...sessionDeps,
      password: deps.password,
      assets: pageAssets,
      sessionTtlMs: deps.sessionTtlMs ?? SESSION_TTL_MS,
      newSessionId: deps.newSessionId ?? newSessionId,
      clientAddress: deps.clientAddress ?? peerAddress,
      ...(deps.log === undefined ? {} : { log: deps.log }),
    }),
  );
  app.route("/", createApiRoutes({ ...sessionDeps, operator: deps.operator }));
  app.route(
    "/",
    createEventRoutes({
      ...sessionDeps,
      events: deps.events,
      ...(deps.log === undefined ? {} : { log: deps.log }),
      ...(deps.closing === undefined ? {} : { closing: deps.closing }),
    }),
  );
  app.route(
    "/",
    createMetricsRoutes({
      ...sessionDeps,
      operator: deps.operator,
      ...(deps.metricsToken === undefined ? {} : { metricsToken: deps.metricsToken }),
      ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
    }),
  );
  app.route("/", createChartRoutes({ ...sessionDeps, operator: deps.operator }));
  app.route(
    "/",
    createDashboardRoutes({
      ...sessionDeps,
      operator: deps.operator,
      assets: pageAssets,
      chartsBundle: deps.assets.url("charts.js"),
    }),
  );
  app.route(
    "/",
    createTradesRoutes({ ...sessionDeps, operator: deps.operator, assets: pageAssets }),
  );
  app.route("/", createSellRoutes({ ...sessionDeps, operator: deps.operator, assets: pageAssets }));
  app.route(
    "/",
    createSettingsPageRoutes({ ...sessionDeps, operator: deps.operator, assets: pageAssets }),
  );
  app.route(
    "/",
    createBacktestRoutes({
      ...sessionDeps,
      dir: deps.reportsDir ?? REPORTS_DIR,
      assets: pageAssets,
    }),
  );
  app.route(
    "/",
    createReportsRoutes({ ...sessionDeps, operator: deps.operator, assets: pageAssets }),
  );
  app.notFound((c) => c.text("not found", 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      return c.text(error.message || "forbidden", error.status);
    }
    deps.log?.error("web: request failed", {
      path: c.req.path,
      error: errorLine(error),
    });
    return c.text("internal error", 500);
  });
  return app;
}

/** The socket's peer address (Deno.serve's handler info), or `unknown`. */
function peerAddress(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}
