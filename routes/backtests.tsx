/**
 * The backtest reports page: the HTML reports `deno task backtest --html` wrote under
 * `reports/` (`REPORTS_DIR`), newest first, each served as written.
 *
 * Safety: a report is served only when its name is one the listing found (a walk of the folder
 * that skips symbolic links and anything not `.html`), so no URL reaches a file outside the
 * folder, whatever `..`, encoded slash or link it holds. A report carries inline scripts and
 * styles (it works offline), which the page's strict CSP forbids; so a report gets its own
 * policy (`reportSecureHeaders`): `sandbox allow-scripts` (an opaque origin: its script cannot
 * read the session cookie, call the API or touch the page), nothing fetched from anywhere
 * (`default-src 'none'`), and no framing at all (it opens as a page of its own).
 */

import { Hono, type MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { VNode } from "preact";
import { formatDateTime } from "../engine/mod.ts";
import { type Lang, messagesOf } from "./i18n.ts";
import { type PageAssets, pageResponse, SitePage } from "./layout.tsx";
import { requireSession, type SessionDeps, type WebEnv } from "./session.ts";

/** Where one report is served: this prefix + its path under the folder. */
export const REPORT_PATH_PREFIX = "/backtests/report/";
/** The most reports the listing walks. */
const MAX_REPORTS = 500;
/** How deep the listing walks into sub-folders. */
const MAX_DEPTH = 3;
/** The largest report served (a report with the chart library inlined is well under this). */
const MAX_REPORT_BYTES = 32 * 1024 * 1024;

/** What the backtest routes use. */
export interface BacktestDeps extends SessionDeps {
  /** The folder the backtester writes its HTML reports under. */
  readonly dir: string;
  readonly assets: PageAssets;
}

/** One report found in the folder. */
export interface ReportFile {
  /** Its path under the folder, `/`-separated (`btc.html`, `2026/eth.html`). */
  readonly name: string;
  readonly bytes: number;
  readonly modifiedMs: number;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `dir` + the listing's checked segments. */
function pathOf(dir: string, segments: readonly string[]): string {
  return [dir.replace(/\/+$/, ""), ...segments].join("/");
}

/**
 * The `.html` reports under `dir`, newest first: regular files only (links are skipped), names
 * of plain characters, at most `MAX_REPORTS`, `MAX_DEPTH` folders deep. A missing folder is an
 * empty list.
 */
export async function listReports(dir: string): Promise<readonly ReportFile[]> {
  const out: ReportFile[] = [];
  async function walk(rel: readonly string[]): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(pathOf(dir, rel)));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= MAX_REPORTS) return;
      if (e.isSymlink || !SEGMENT.test(e.name)) continue;
      if (e.isDirectory && rel.length < MAX_DEPTH) await walk([...rel, e.name]);
      if (!e.isFile || !e.name.endsWith(".html")) continue;
      const info = await Deno.lstat(pathOf(dir, [...rel, e.name]));
      if (!info.isFile) continue;
      out.push({
        name: [...rel, e.name].join("/"),
        bytes: info.size,
        modifiedMs: info.mtime?.getTime() ?? 0,
      });
    }
  }
  await walk([]);
  return out.sort((a, b) => b.modifiedMs - a.modifiedMs || a.name.localeCompare(b.name));
}

/**
 * The headers of a served report: a sandboxed document (scripts run in an opaque origin), inline
 * code allowed, nothing fetched, never framed.
 */
export function reportSecureHeaders(options: { readonly hsts: boolean }): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      sandbox: ["allow-scripts"],
      defaultSrc: ["'none'"],
      scriptSrc: ["'unsafe-inline'"],
      styleSrc: ["'unsafe-inline'"],
      imgSrc: ["data:", "blob:"],
      fontSrc: ["data:"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-origin",
    strictTransportSecurity: options.hsts ? "max-age=15552000; includeSubDomains" : false,
  });
}

/** `GET /backtests` (the list) and `GET /backtests/report/<name>` (one report, sandboxed). */
export function createBacktestRoutes(deps: BacktestDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use("/backtests", requireSession(deps));
  app.use("/backtests/*", requireSession(deps));
  app.get("/backtests", async (c) => {
    const reports = await listReports(deps.dir);
    return pageResponse(
      c,
      <BacktestsPage
        lang={c.get("lang")}
        csrfToken={c.get("session").csrfToken}
        assets={deps.assets}
        reports={reports}
      />,
    );
  });
  app.get(`${REPORT_PATH_PREFIX}*`, async (c) => {
    const raw = c.req.path.slice(REPORT_PATH_PREFIX.length);
    let name: string;
    try {
      name = raw.split("/").map(decodeURIComponent).join("/");
    } catch {
      return c.text("no such report", 404);
    }
    const found = (await listReports(deps.dir)).find((r) => r.name === name);
    if (found === undefined || found.bytes > MAX_REPORT_BYTES) {
      return c.text("no such report", 404);
    }
    const body = await Deno.readFile(pathOf(deps.dir, found.name.split("/")));
    return c.body(body.slice().buffer, 200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
    });
  });
  return app;
}

function BacktestsPage(
  props: {
    readonly lang: Lang;
    readonly csrfToken: string;
    readonly assets: PageAssets;
    readonly reports: readonly ReportFile[];
  },
): VNode {
  const t = messagesOf(props.lang);
  return (
    <SitePage
      title={t("backtests.title")}
      lang={props.lang}
      current="backtests"
      path="/backtests"
      csrfToken={props.csrfToken}
      assets={props.assets}
    >
      {props.reports.length === 0 ? <p class="muted">{t("backtests.empty")}</p> : (
        <ul class="rows">
          {props.reports.map((r) => (
            <li key={r.name} class="split">
              <span>
                <a href={REPORT_PATH_PREFIX + r.name.split("/").map(encodeURIComponent).join("/")}>
                  {r.name}
                </a>
                <br />
                <span class="muted">
                  {formatDateTime(r.modifiedMs)} UTC ·{" "}
                  {t("backtests.size", { kb: Math.max(1, Math.round(r.bytes / 1024)) })}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </SitePage>
  );
}
