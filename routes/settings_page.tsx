/**
 * The settings page: every run-time parameter with its start-up value and the override in force,
 * a form per parameter to change it (or go back to the start-up value) through the operator's
 * validated path (`set` / `unset` as `web:<session>`, audited), the history of changes and the
 * operator's audit log.
 *
 * `GET /settings` shows it; `POST /settings` (`name`, `value`, `action=set|unset`, the CSRF
 * token) runs the command. Done: back to the page (303) with what changed. Refused: the page
 * again (422) with the operator's one-line reason under that parameter's field and the value as
 * typed, so nothing is lost.
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { VNode } from "preact";
import { z } from "zod";
import { formatDateTime, type Operator, type ParamsView, type ParamView } from "../engine/mod.ts";
import { CsrfField } from "./auth.tsx";
import { type Lang, messagesOf, paramHint } from "./i18n.ts";
import { type PageAssets, pageResponse, SitePage } from "./layout.tsx";
import {
  actorOf,
  requireCsrfToken,
  requireSession,
  type SessionDeps,
  type WebEnv,
} from "./session.ts";

/** What the settings routes use. */
export interface SettingsPageDeps extends SessionDeps {
  readonly operator: Operator;
  readonly assets: PageAssets;
}

/** How many audit records the page lists. */
const AUDIT_ROWS = 50;

const CHANGE_FORM = z.object({
  name: z.string().trim().min(1).max(40),
  action: z.enum(["set", "unset"]).default("set"),
  value: z.string().max(40).default(""),
});

/** One record of the operator's audit log. */
type CommandRecord = Awaited<ReturnType<Operator["auditLog"]>>[number];

/** A change's outcome shown on the page. */
interface Feedback {
  readonly name: string;
  readonly ok: boolean;
  readonly text: string;
  /** The value as typed (kept in the field after a refusal). */
  readonly typed?: string;
}

/** `GET /settings` and `POST /settings`. */
export function createSettingsPageRoutes(deps: SettingsPageDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { operator } = deps;
  app.use("/settings", requireSession(deps));
  async function page(
    c: Context<WebEnv>,
    feedback: Feedback | null,
    status: 200 | 422,
  ): Promise<Response> {
    const [params, audit] = await Promise.all([
      operator.params(),
      operator.auditLog({ limit: AUDIT_ROWS }),
    ]);
    return pageResponse(
      c,
      <SettingsPage
        lang={c.get("lang")}
        csrfToken={c.get("session").csrfToken}
        assets={deps.assets}
        params={params}
        audit={audit}
        feedback={feedback}
      />,
      status,
    );
  }
  app.get("/settings", async (c) => {
    const t = messagesOf(c.get("lang"));
    const saved = c.req.query("saved");
    const reset = c.req.query("reset");
    const params = await operator.params();
    const known = (name: string | undefined) =>
      name !== undefined && params.params.some((p) => p.name === name);
    let feedback: Feedback | null = null;
    if (known(saved)) {
      const value = params.params.find((p) => p.name === saved)?.value;
      feedback = {
        name: saved!,
        ok: true,
        text: t("settings.saved", { name: saved!, value: String(value ?? "") }),
      };
    } else if (known(reset)) {
      feedback = { name: reset!, ok: true, text: t("settings.resetDone", { name: reset! }) };
    }
    return await page(c, feedback, 200);
  });
  app.post("/settings", requireCsrfToken(), async (c) => {
    const form = CHANGE_FORM.safeParse(await c.req.parseBody());
    if (!form.success) {
      const issue = form.error.issues[0]!;
      throw new HTTPException(400, { message: `${issue.path.join(".")}: ${issue.message}` });
    }
    const { name, action, value } = form.data;
    const params = await operator.params();
    if (!params.params.some((p) => p.name === name)) {
      return await page(c, {
        name,
        ok: false,
        text: messagesOf(c.get("lang"))("settings.unknown"),
      }, 422);
    }
    const outcome = await operator.execute(
      actorOf(c.get("session")),
      action === "set" ? { kind: "set", name, value } : { kind: "unset", name },
    );
    if (outcome.result === "done") {
      const key = action === "set" ? "saved" : "reset";
      return c.redirect(`/settings?${key}=${encodeURIComponent(name)}#p-${name}`, 303);
    }
    return await page(c, {
      name,
      ok: false,
      text: messagesOf(c.get("lang"))("settings.rejected", { reason: outcome.detail }),
      typed: value,
    }, 422);
  });
  app.on(["PUT", "PATCH", "DELETE"], "/settings", (c) => {
    return c.text("use POST", 405, { allow: "GET, POST" });
  });
  return app;
}

function SettingsPage(
  props: {
    readonly lang: Lang;
    readonly csrfToken: string;
    readonly assets: PageAssets;
    readonly params: ParamsView;
    readonly audit: readonly CommandRecord[];
    readonly feedback: Feedback | null;
  },
): VNode {
  const t = messagesOf(props.lang);
  const { params, feedback } = props;
  return (
    <SitePage
      title={t("settings.title")}
      lang={props.lang}
      current="settings"
      path="/settings"
      csrfToken={props.csrfToken}
      assets={props.assets}
    >
      <p class="muted">
        {t("settings.strategy", { name: params.strategy, version: params.version })}
      </p>
      <ul class="rows params">
        {params.params.map((p) => (
          <ParamRow
            key={p.name}
            lang={props.lang}
            param={p}
            csrfToken={props.csrfToken}
            feedback={feedback?.name === p.name ? feedback : null}
          />
        ))}
      </ul>
      {feedback !== null && !params.params.some((p) => p.name === feedback.name)
        ? <p class="error" role="alert">{feedback.text}</p>
        : null}

      <h2>{t("settings.history")}</h2>
      {params.history.length === 0
        ? <p class="muted">{t("settings.historyEmpty")}</p>
        : (
          <ol class="rows">
            {[...params.history].reverse().map((h) => (
              <li key={h.version}>
                <span>
                  <strong>{h.name}</strong> {h.from ?? "·"} → {h.to ?? t("settings.startup")}
                </span>
                <span class="muted">
                  v{h.version} · {h.actor} · {formatDateTime(h.atMs)} UTC
                </span>
              </li>
            ))}
          </ol>
        )}

      <h2>{t("settings.audit")}</h2>
      {props.audit.length === 0
        ? <p class="muted">{t("settings.auditEmpty")}</p>
        : (
          <ol class="rows">
            {props.audit.map((a) => (
              <li key={a.id}>
                <span>
                  <strong>{a.command}</strong>{" "}
                  <span class={a.result === "done" ? "pos" : "neg"}>{a.result}</span>
                </span>
                <span>{a.detail}</span>
                <span class="muted">{a.actor} · {formatDateTime(a.atMs)} UTC</span>
              </li>
            ))}
          </ol>
        )}
    </SitePage>
  );
}

function ParamRow(
  props: {
    readonly lang: Lang;
    readonly param: ParamView;
    readonly csrfToken: string;
    readonly feedback: Feedback | null;
  },
): VNode {
  const t = messagesOf(props.lang);
  const p = props.param;
  const id = `p-${p.name}`;
  const fb = props.feedback;
  return (
    <li id={id}>
      <form method="post" action="/settings" class="param">
        <CsrfField token={props.csrfToken} />
        <input type="hidden" name="name" value={p.name} />
        <label for={`${id}-value`}>
          <strong>{p.name}</strong>
          {p.overridden ? <span class="badge warn">{t("settings.overridden")}</span> : null}
          <span class="muted">{paramHint(props.lang, p.name)}</span>
        </label>
        <span class="muted">
          {t("settings.value")}: {p.value ?? t("common.na")} · {t("settings.startup")}:{" "}
          {p.startup ?? t("common.na")}
        </span>
        <span class="field">
          <input
            id={`${id}-value`}
            name="value"
            inputmode="decimal"
            autocomplete="off"
            value={fb !== null && !fb.ok ? fb.typed ?? "" : String(p.value ?? "")}
            {...(fb !== null && !fb.ok
              ? { "aria-invalid": "true", "aria-describedby": `${id}-error` }
              : {})}
          />
          <button type="submit" name="action" value="set">{t("settings.change")}</button>
          {p.overridden
            ? (
              <button type="submit" name="action" value="unset" class="secondary">
                {t("settings.reset")}
              </button>
            )
            : null}
        </span>
        {fb === null ? null : (
          <p
            id={`${id}-error`}
            class={fb.ok ? "pos" : "error"}
            role={fb.ok ? "status" : "alert"}
          >
            {fb.text}
          </p>
        )}
      </form>
    </li>
  );
}
