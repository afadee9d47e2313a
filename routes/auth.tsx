/**
 * Signing in and out (reliability.md §4): `GET /login`, `POST /login`, `POST /logout`.
 *
 * - The password (`WEB_PASSWORD`) is compared in constant time.
 * - Failed logins are rate-limited from the store, so a restart does not reset them: 5 per client
 *   address in 15 minutes, 20 in an hour for everyone. Past a limit every login (even the right
 *   password) is answered 429 with `Retry-After`, before the password is looked at.
 * - A successful login always starts a NEW session (a fixed id cannot be planted) and answers
 *   with a redirect to the main page. The error text is the same for every failure.
 */

import { type Context, Hono } from "hono";
import type { VNode } from "preact";
import { z } from "zod";
import type { Clock, Logger, LoginAttemptStore, Secret, SessionStore } from "../engine/mod.ts";
import { type Lang, messagesOf } from "./i18n.ts";
import { LangSwitch, type PageAssets, renderPage, Shell } from "./layout.tsx";
import {
  CSRF_FIELD,
  endSession,
  equalSecret,
  requireCsrfToken,
  requireSession,
  type SessionCookie,
  sessionOf,
  startSession,
  type WebEnv,
} from "./session.ts";

/** Failed logins one client address may make in `CLIENT_WINDOW_MS`. */
export const CLIENT_FAILURES = 5;
/** The window of `CLIENT_FAILURES`. */
export const CLIENT_WINDOW_MS = 15 * 60_000;
/** Failed logins everyone together may make in `GLOBAL_WINDOW_MS`. */
export const GLOBAL_FAILURES = 20;
/** The window of `GLOBAL_FAILURES`. */
export const GLOBAL_WINDOW_MS = 60 * 60_000;

/** What the auth routes use. */
export interface AuthDeps {
  readonly sessions: SessionStore & LoginAttemptStore;
  readonly clock: Clock;
  readonly cookie: SessionCookie;
  readonly password: Secret;
  readonly assets: PageAssets;
  readonly sessionTtlMs: number;
  readonly newSessionId: () => string;
  /** The client's address (the rate limit's scope). */
  readonly clientAddress: (c: Context) => string;
  readonly log?: Logger;
}

const LOGIN_FORM = z.object({ password: z.string().max(1024) });

/** `/login` and `/logout`. */
export function createAuthRoutes(deps: AuthDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/login", async (c) => {
    if (await sessionOf(c, deps) !== undefined) return c.redirect("/", 303);
    return c.html(
      renderPage(<LoginPage assets={deps.assets} lang={c.get("lang")} error={null} />),
    );
  });
  app.post("/login", async (c) => {
    const nowMs = deps.clock.nowMs();
    const client = deps.clientAddress(c).slice(0, 64);
    const [mine, all] = await Promise.all([
      deps.sessions.countLoginFailures(`ip:${client}`, {
        sinceMs: nowMs - CLIENT_WINDOW_MS,
        max: CLIENT_FAILURES,
      }),
      deps.sessions.countLoginFailures("*", {
        sinceMs: nowMs - GLOBAL_WINDOW_MS,
        max: GLOBAL_FAILURES,
      }),
    ]);
    if (mine >= CLIENT_FAILURES || all >= GLOBAL_FAILURES) {
      const retryAfterS = Math.ceil(
        (all >= GLOBAL_FAILURES ? GLOBAL_WINDOW_MS : CLIENT_WINDOW_MS) / 1000,
      );
      deps.log?.warn("web: login refused: too many failed logins", { client });
      c.header("retry-after", String(retryAfterS));
      return c.html(
        renderPage(<LoginPage assets={deps.assets} lang={c.get("lang")} error="login.tooMany" />),
        429,
      );
    }
    const form = LOGIN_FORM.safeParse(await c.req.parseBody());
    const ok = form.success && await equalSecret(form.data.password, deps.password.reveal());
    if (!ok) {
      await deps.sessions.recordLoginFailure([`ip:${client}`, "*"], nowMs);
      deps.log?.warn("web: failed login", { client });
      return c.html(
        renderPage(<LoginPage assets={deps.assets} lang={c.get("lang")} error="login.wrong" />),
        401,
      );
    }
    await startSession(c, { ...deps, ttlMs: deps.sessionTtlMs, newId: deps.newSessionId });
    return c.redirect("/", 303);
  });
  app.post("/logout", requireSession(deps), requireCsrfToken(), async (c) => {
    await endSession(c, deps);
    return c.redirect("/login", 303);
  });
  return app;
}

/** The sign-in form. */
function LoginPage(
  props: {
    readonly assets: PageAssets;
    readonly lang: Lang;
    readonly error: "login.wrong" | "login.tooMany" | null;
  },
): VNode {
  const t = messagesOf(props.lang);
  return (
    <Shell title={`${t("login.title")} · upbit-trader`} assets={props.assets} lang={props.lang}>
      <main class="login">
        <h1>upbit-trader</h1>
        <LangSwitch lang={props.lang} path="/login" />
        <form method="post" action="/login">
          <label for="password">{t("login.password")}</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            autofocus
          />
          {props.error === null ? null : <p class="error" role="alert">{t(props.error)}</p>}
          <button type="submit">{t("login.submit")}</button>
        </form>
      </main>
    </Shell>
  );
}

/** The hidden field that carries a form's CSRF token. */
export function CsrfField(props: { readonly token: string }): VNode {
  return <input type="hidden" name={CSRF_FIELD} value={props.token} />;
}
