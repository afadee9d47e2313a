/**
 * How the Upbit REST client turns failures into the engine's neutral typed errors
 * (`engine/errors.ts`, named for the reaction they need): the mapping from what Upbit actually
 * sends (`shared/upbit/API.md` §5, §6) to them:
 * a string `error.name` on the Exchange API, an integer one on Quotation, plain-text 429/418
 * bodies, HTML gateway pages, and bodies that do not parse at all.
 *
 * Upbit's `error.name` travels in the error's `code`. `TemporaryError` means "the outcome is
 * unknown", which is why order placement resolves it by `identifier` (place_order.ts).
 */

import {
  AuthError,
  ConflictError,
  type EngineError,
  RateLimitedError,
  RejectedError,
  type RejectionReason,
  TemporaryError,
} from "../../errors.ts";

const AUTH_NAMES: ReadonlySet<string> = new Set([
  "no_authorization_token",
  "jwt_verification",
  "invalid_query_payload",
  "nonce_used",
  "expired_access_key",
  "no_authorization_ip",
  "no_authorization_i_p",
  "invalid_access_key",
  "out_of_scope",
  "thirdparty_agreement_required",
]);

const REJECTIONS: ReadonlyArray<readonly [RegExp, RejectionReason]> = [
  [/^insufficient_funds_(bid|ask)$/, "insufficient_funds"],
  [/^under_min_total_(bid|ask)$/, "under_min_total"],
  [/^over_krw_funds_(bid|ask)$/, "over_max_total"],
  [/^volume_too_large$/, "over_max_total"],
  [/^invalid_price_(bid|ask)$/, "invalid_price"],
  [/^invalid_volume_(bid|ask)$/, "invalid_volume"],
  [/^invalid_funds$/, "invalid_volume"],
  [/^(create_(bid|ask)_error|invalid_time_in_force|invalid_post_only)$/, "invalid_order"],
  [/^(invalid_parameter|invaild_parameter|validation_error|bad_request)$/, "invalid_parameter"],
  [/^QUERY_PARAMETER_NOT_SUPPORTED$/, "invalid_parameter"],
  [/^(notfoundmarket|order_not_found|not_found|currency_not_found|pocket_not_found)$/, "not_found"],
  [/^market_offline$/, "market_offline"],
];

/** What `classifyFailure` needs to know about one non-2xx answer. */
export interface FailedResponse {
  readonly status: number;
  readonly bodyText: string;
  /** `Retry-After` header, if any. */
  readonly retryAfter?: string | null;
  /** Our rate-limit group of the call. */
  readonly group: string;
  /** `GET /v1/accounts`-style label for messages. */
  readonly what: string;
  /** Current time, ms (for 429: the wait until the next second). */
  readonly nowMs: number;
  /** Block assumed by a 418 that states no duration. */
  readonly defaultBlockMs?: number;
}

/** Upbit's error body, read defensively: `{ name, message }` or undefined when not that shape. */
export function parseErrorBody(
  bodyText: string,
): { readonly name: string; readonly message: string } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== "object") return undefined;
  const error = (json as Record<string, unknown>)["error"];
  if (error === null || typeof error !== "object") return undefined;
  const name = (error as Record<string, unknown>)["name"];
  const message = (error as Record<string, unknown>)["message"];
  if (typeof name !== "string" && !(typeof name === "number" && Number.isFinite(name))) {
    return undefined;
  }
  return { name: String(name), message: typeof message === "string" ? message : "" };
}

/** The block time stated by a 418 (Retry-After seconds, or "N seconds/minutes" in the text). */
export function blockMsOf(
  bodyText: string,
  retryAfter: string | null | undefined,
  fallbackMs: number,
): number {
  const header = retryAfter == null ? NaN : Number(retryAfter);
  if (Number.isFinite(header) && header >= 0) return header * 1000;
  const minutes = /(\d+(?:\.\d+)?)\s*(?:minutes?|mins?|분)/i.exec(bodyText);
  if (minutes !== null) return Number(minutes[1]) * 60_000;
  const seconds = /(\d+(?:\.\d+)?)\s*(?:seconds?|secs?|s\b|초)/i.exec(bodyText);
  if (seconds !== null) return Number(seconds[1]) * 1000;
  return fallbackMs;
}

/** Turns one non-2xx answer into the typed error that says what to do next. */
export function classifyFailure(res: FailedResponse): EngineError {
  const { status, what } = res;
  if (status === 429) {
    const header = res.retryAfter == null ? NaN : Number(res.retryAfter);
    const untilNextSecond = 1000 - (res.nowMs % 1000);
    const retryAfterMs = Number.isFinite(header) && header > 0 ? header * 1000 : untilNextSecond;
    return new RateLimitedError(`Cannot ${what}: rate limited (429) in group ${res.group}`, {
      retryAfterMs,
      group: res.group,
      blocked: false,
      status,
    });
  }
  if (status === 418) {
    const blockMs = blockMsOf(res.bodyText, res.retryAfter, res.defaultBlockMs ?? 60_000);
    return new RateLimitedError(
      `Cannot ${what}: blocked (418) in group ${res.group} for ${blockMs} ms`,
      { retryAfterMs: blockMs, group: res.group, blocked: true, status },
    );
  }
  const body = parseErrorBody(res.bodyText);
  if (body === undefined) {
    // HTML gateway pages, truncated or empty bodies: nothing says whether Upbit acted on it.
    return new TemporaryError(
      `Cannot ${what}: HTTP ${status} with an unreadable body: ${snippet(res.bodyText)}`,
      { reason: status >= 500 ? "server_error" : "bad_response", status },
    );
  }
  const name = body.name;
  const detail = `Cannot ${what}: ${name} (HTTP ${status}): ${body.message}`;
  if (status >= 500) {
    return new TemporaryError(detail, { reason: "server_error", status, code: name });
  }
  if (AUTH_NAMES.has(name)) return new AuthError(detail, { status, code: name });
  if (name === "duplicated_identifier") {
    return new ConflictError(detail, { status, code: name });
  }
  for (const [pattern, reason] of REJECTIONS) {
    if (pattern.test(name)) return new RejectedError(detail, { reason, status, code: name });
  }
  if (/^\d+$/.test(name)) {
    // Quotation errors carry the status as an integer name: 404 "Code not found" etc.
    return new RejectedError(detail, {
      reason: status === 404 ? "not_found" : "invalid_parameter",
      status,
      code: name,
    });
  }
  if (status === 401) return new AuthError(detail, { status, code: name });
  return new RejectedError(detail, { reason: "unknown", status, code: name });
}

/** The first 80 characters of a body, on one line (never a whole HTML page in a message). */
export function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const safe = flat.replace(/[^\x20-\x7e가-힣]/g, "?");
  return JSON.stringify(safe.length > 80 ? `${safe.slice(0, 80)}…` : safe);
}
