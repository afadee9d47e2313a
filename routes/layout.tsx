/**
 * The page shell every HTML answer uses: server-rendered Preact (`preact-render-to-string`), one
 * stylesheet from `static/`, no inline style or script (the CSP forbids them). A page with
 * islands loads the islands' bundle (`static/islands.js`, built by `deno task build`) as a module
 * carrying the request's CSP nonce; the bundle hydrates each `Island` the server rendered.
 */

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ComponentChildren, h, type VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { type Lang, LANGS, langSwitchHref, type MessageKey, messagesOf } from "./i18n.ts";
import { CSRF_FIELD } from "./session.ts";

/** The URLs of the files every page links (hashed, immutably cached). */
export interface PageAssets {
  readonly css: string;
  /** Without an icon, browsers ask for /favicon.ico. */
  readonly icon: string;
  /** The islands' bundle. */
  readonly islands: string;
}

/** What every page's shell needs. */
export interface ShellProps {
  readonly title: string;
  readonly assets: PageAssets;
  /** The request's CSP nonce: given, the page loads the islands' bundle with it. */
  readonly nonce?: string;
  /** The page's language (default English). */
  readonly lang?: Lang;
  readonly children: ComponentChildren;
}

/** The `<html>` of a page, phone first (the viewport fits the device width). */
export function Shell(props: ShellProps): VNode {
  return (
    <html lang={props.lang ?? "en"}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{props.title}</title>
        <link rel="icon" href={props.assets.icon} type="image/svg+xml" />
        <link rel="stylesheet" href={props.assets.css} />
        {props.nonce === undefined
          ? null
          : <script type="module" src={props.assets.islands} nonce={props.nonce} />}
      </head>
      <body>{props.children}</body>
    </html>
  );
}

/**
 * An island as the server renders it: the component's HTML inside a `span` that names it and
 * carries its JSON props, for the bundle to hydrate.
 */
export function Island<P extends object>(
  props: { readonly name: string; readonly component: (p: P) => VNode; readonly props: P },
): VNode {
  return (
    <span data-island={props.name} data-props={JSON.stringify(props.props)}>
      {h(props.component as (p: object) => VNode, props.props)}
    </span>
  );
}

/** A page as the HTML document the server sends. */
export function renderPage(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}

/** `page` as the answer: its HTML with `status`, never cached (pages show the bot's state). */
export function pageResponse(
  c: Context,
  page: VNode,
  status: ContentfulStatusCode = 200,
): Response {
  return c.html(renderPage(page), status, { "cache-control": "no-store" });
}

/** A page of the site's navigation. */
export type NavPage = "home" | "trades" | "reports" | "settings" | "backtests";

const NAV: readonly { readonly page: NavPage; readonly href: string; readonly key: MessageKey }[] =
  [
    { page: "home", href: "/", key: "nav.home" },
    { page: "trades", href: "/trades", key: "nav.trades" },
    { page: "reports", href: "/reports", key: "nav.reports" },
    { page: "settings", href: "/settings", key: "nav.settings" },
    { page: "backtests", href: "/backtests", key: "nav.backtests" },
  ];

/**
 * The bar atop every signed-in page: the pages (the current one marked), the language switch
 * (back to `path`) and sign-out. It wraps on a phone instead of scrolling sideways.
 */
export function NavBar(
  props: {
    readonly lang: Lang;
    readonly current: NavPage | null;
    /** The current path (with its query), where the language switch comes back to. */
    readonly path: string;
    readonly csrfToken: string;
    /** Shown first (the main page's live status). */
    readonly children?: ComponentChildren;
  },
): VNode {
  const t = messagesOf(props.lang);
  return (
    <header class="top">
      {props.children}
      <nav class="nav" aria-label={t("nav.label")}>
        {NAV.map((n) => (
          <a
            key={n.page}
            href={n.href}
            {...(n.page === props.current ? { "aria-current": "page" } : {})}
          >
            {t(n.key)}
          </a>
        ))}
      </nav>
      <LangSwitch lang={props.lang} path={props.path} />
      <form method="post" action="/logout" class="inline">
        <input type="hidden" name={CSRF_FIELD} value={props.csrfToken} />
        <button type="submit" class="link">{t("nav.signOut")}</button>
      </form>
    </header>
  );
}

/** Links to the other languages, each named in its own language. */
export function LangSwitch(props: { readonly lang: Lang; readonly path: string }): VNode {
  return (
    <span class="langs" aria-label={messagesOf(props.lang)("lang.switch")}>
      {LANGS.filter((l) => l !== props.lang).map((l) => (
        <a key={l} href={langSwitchHref(l, props.path)} hreflang={l} lang={l}>
          {messagesOf(l)("lang.name")}
        </a>
      ))}
    </span>
  );
}

/** What a signed-in page of the site needs besides its content. */
export interface SitePageProps {
  readonly title: string;
  readonly lang: Lang;
  readonly current: NavPage | null;
  /** The current path (with its query). */
  readonly path: string;
  readonly csrfToken: string;
  readonly assets: PageAssets;
  readonly children: ComponentChildren;
}

/** A signed-in page: the shell, the navigation bar and the content in `main`. */
export function SitePage(props: SitePageProps): VNode {
  return (
    <Shell title={`${props.title} · upbit-trader`} assets={props.assets} lang={props.lang}>
      <NavBar
        lang={props.lang}
        current={props.current}
        path={props.path}
        csrfToken={props.csrfToken}
      />
      <main>
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </Shell>
  );
}
