/**
 * The page shell every HTML answer uses: server-rendered Preact (`preact-render-to-string`), one
 * stylesheet from `static/`, no inline style or script (the CSP forbids them). A page with
 * islands loads the islands' bundle (`static/islands.js`, built by `deno task build`) as a module
 * carrying the request's CSP nonce; the bundle hydrates each `Island` the server rendered.
 */

import { type ComponentChildren, h, type VNode } from "preact";
import { renderToString } from "preact-render-to-string";

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
  readonly children: ComponentChildren;
}

/** The `<html>` of a page, phone first (the viewport fits the device width). */
export function Shell(props: ShellProps): VNode {
  return (
    <html lang="en">
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
