import assert from "node:assert/strict";
import {
  AuthError,
  ConflictError,
  RateLimitedError,
  RejectedError,
  type RejectionReason,
  TemporaryError,
} from "../../../../engine/errors.ts";
import { blockMsOf, classifyFailure } from "../../../../engine/adapters/upbit/errors.ts";

function fail(status: number, body: string, extra: { retryAfter?: string; nowMs?: number } = {}) {
  return classifyFailure({
    status,
    bodyText: body,
    group: "order",
    what: "POST /v1/orders",
    nowMs: extra.nowMs ?? 10_250,
    ...(extra.retryAfter === undefined ? {} : { retryAfter: extra.retryAfter }),
  });
}

function upbit(name: unknown, message = "m"): string {
  return JSON.stringify({ error: { name, message } });
}

Deno.test("classifyFailure: definitive rejections by error.name", () => {
  const cases: Array<[string, RejectionReason]> = [
    ["insufficient_funds_bid", "insufficient_funds"],
    ["insufficient_funds_ask", "insufficient_funds"],
    ["under_min_total_bid", "under_min_total"],
    ["under_min_total_ask", "under_min_total"],
    ["over_krw_funds_bid", "over_max_total"],
    ["invalid_price_ask", "invalid_price"],
    ["invalid_volume_bid", "invalid_volume"],
    ["create_ask_error", "invalid_order"],
    ["invalid_time_in_force", "invalid_order"],
    ["validation_error", "invalid_parameter"],
    ["invaild_parameter", "invalid_parameter"],
    ["notfoundmarket", "not_found"],
    ["order_not_found", "not_found"],
    ["market_offline", "market_offline"],
    ["something_new", "unknown"],
  ];
  for (const [name, reason] of cases) {
    const e = fail(name === "market_offline" ? 403 : 400, upbit(name));
    assert.ok(e instanceof RejectedError, name);
    assert.equal(e.reason, reason, name);
    assert.equal(e.code, name);
    assert.equal(e.retryable, false);
  }
  const quotation = fail(404, upbit(404, "Code not found"));
  assert.ok(quotation instanceof RejectedError && quotation.reason === "not_found");
  assert.equal(quotation.code, "404");
});

Deno.test("classifyFailure: auth, conflict, 5xx, unreadable bodies", () => {
  for (const name of ["jwt_verification", "nonce_used", "no_authorization_i_p", "out_of_scope"]) {
    const e = fail(name === "out_of_scope" ? 403 : 401, upbit(name));
    assert.ok(e instanceof AuthError && !e.retryable, name);
  }
  assert.ok(fail(401, upbit("brand_new_auth_name")) instanceof AuthError);
  const dup = fail(400, upbit("duplicated_identifier"));
  assert.ok(dup instanceof ConflictError && !dup.retryable);
  const ise = fail(500, upbit("internal_server_error"));
  assert.ok(ise instanceof TemporaryError && ise.reason === "server_error" && ise.retryable);
  const html = fail(
    502,
    `<html><body>502 Bad Gateway${" ".repeat(9)}${"x".repeat(5000)}</body></html>`,
  );
  assert.ok(html instanceof TemporaryError && html.reason === "server_error");
  assert.ok(html.message.length < 200, "no whole pages in messages");
  const garbage = fail(400, "\u0000\u00ff{");
  assert.ok(garbage instanceof TemporaryError && garbage.reason === "bad_response");
  assert.ok(fail(400, upbit(null)) instanceof TemporaryError);
});

Deno.test("classifyFailure: 429 waits for the next second, 418 for the stated block", () => {
  const limited = fail(429, "Too many API requests.", { nowMs: 10_250 });
  assert.ok(limited instanceof RateLimitedError && !limited.blocked);
  assert.equal(limited.retryAfterMs, 750);
  const withHeader = fail(429, "", { retryAfter: "2" });
  assert.ok(withHeader instanceof RateLimitedError && withHeader.retryAfterMs === 2000);
  const blocked = fail(418, "I'm a teapot: blocked for 30 seconds.");
  assert.ok(blocked instanceof RateLimitedError && blocked.blocked);
  assert.equal(blocked.retryAfterMs, 30_000);
  assert.equal(blockMsOf("blocked for 2 minutes", null, 1), 120_000);
  assert.equal(blockMsOf("10초 동안 차단", null, 1), 10_000);
  assert.equal(blockMsOf("teapot", null, 60_000), 60_000);
  assert.equal(blockMsOf("", "7", 1), 7000);
});
