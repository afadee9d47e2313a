/**
 * The page shell every HTML answer uses: server-rendered Preact (`preact-render-to-string`), one
 * stylesheet from `static/`, no inline style or script (the CSP forbids them; island scripts
 * will carry the request's nonce).
 */

import type { ComponentChildren, VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** The URLs of the files every page links (hashed, immutably cached). */
export interface PageAssets {
  readonly css: string;
  /** Without an icon, browsers ask for /favicon.ico. */
  readonly icon: string;
}

/** What every page's shell needs. */
export interface ShellProps {
  readonly title: string;
  readonly assets: PageAssets;
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
      </head>
      <body>{props.children}</body>
    </html>
  );
}

/** A page as the HTML document the server sends. */
export function renderPage(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}
