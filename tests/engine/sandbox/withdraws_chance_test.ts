/**
 * The sandbox's `GET /v1/withdraws/chance` (docs/upbit-api.md §3.3): a read under 출금조회, so a
 * key without that group (every key unless configured: the trading groups only) answers 403
 * `out_of_scope`, the signal `deno task preflight` reads; a key with it gets the documented shape.
 */

import assert from "node:assert/strict";
import { Hono } from "hono";
import { SandboxAuth } from "../../../engine/sandbox/auth.ts";
import { createExchangeRoutes } from "../../../engine/sandbox/exchange_routes.ts";
import { callJson, createHarness, type Harness, KEY_A, KEY_VIEW_ONLY } from "./_harness.ts";

const KEY_WITHDRAW = { accessKey: "ACCESS-WITHDRAW", secretKey: "SECRET-WITHDRAW" };

/** The harness's exchange behind keys: A (default groups), view-only, and one with 출금조회. */
function withWithdrawKey(h: Harness): Harness {
  const auth = new SandboxAuth([
    { ...KEY_A, accountId: "a" },
    { ...KEY_VIEW_ONLY, accountId: "a", permissions: ["view_assets", "view_orders"] },
    { ...KEY_WITHDRAW, accountId: "a", permissions: ["view_assets", "view_withdrawals"] },
  ], { nowMs: () => h.feed.nowMs() });
  const app = new Hono();
  app.route("/", createExchangeRoutes({ exchange: h.exchange, auth }));
  return { ...h, app };
}

Deno.test("withdraws/chance: a key without 출금조회 answers 403 out_of_scope", async () => {
  const h = withWithdrawKey(createHarness());
  try {
    for (const key of [KEY_A, KEY_VIEW_ONLY]) {
      const [status, body] = await callJson(h, "GET", "/v1/withdraws/chance", [
        ["currency", "KRW"],
      ], { key });
      assert.equal(status, 403);
      assert.equal(body.error.name, "out_of_scope");
    }
  } finally {
    h.close();
  }
});

Deno.test("withdraws/chance: a key with 출금조회 reads KRW and a coin in Upbit's shape", async () => {
  const h = withWithdrawKey(createHarness());
  try {
    const [status, body] = await callJson(h, "GET", "/v1/withdraws/chance", [
      ["currency", "KRW"],
    ], { key: KEY_WITHDRAW });
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body), ["member_level", "currency", "account", "withdraw_limit"]);
    assert.equal(body.currency.code, "KRW");
    assert.equal(body.currency.is_coin, false);
    assert.equal(body.account.balance, "1250000.52");
    assert.equal(body.withdraw_limit.can_withdraw, false);
    const [coin, btc] = await callJson(h, "GET", "/v1/withdraws/chance", [
      ["currency", "BTC"],
      ["net_type", "BTC"],
    ], { key: KEY_WITHDRAW });
    assert.equal(coin, 200);
    assert.equal(btc.currency.is_coin, true);
    assert.equal(btc.account.balance, "0.015234");
    const [noNet, missing] = await callJson(h, "GET", "/v1/withdraws/chance", [
      ["currency", "BTC"],
    ], { key: KEY_WITHDRAW });
    assert.equal(noNet, 400);
    assert.equal(missing.error.name, "validation_error");
    const [unknown, none] = await callJson(h, "GET", "/v1/withdraws/chance", [
      ["currency", "NOPE"],
      ["net_type", "NOPE"],
    ], { key: KEY_WITHDRAW });
    assert.equal(unknown, 404);
    assert.equal(none.error.name, "currency_not_found");
  } finally {
    h.close();
  }
});
