import assert from "node:assert/strict";
import { Hono } from "hono";
import { createFaultAdminRoutes } from "../../../engine/sandbox/faults.ts";
import { call, callJson, createHarness } from "./_harness.ts";

const ORDER = {
  market: "KRW-BTC",
  side: "bid",
  ord_type: "limit",
  price: "100000000",
  volume: "0.0001",
  identifier: "f-1",
};

Deno.test("faults: server_error and html_error answer before the handler, state unchanged", async () => {
  const h = createHarness();
  h.faults.arm({ kind: "server_error", path: "/v1/orders" });
  const [status, body] = await callJson(h, "POST", "/v1/orders", ORDER);
  assert.equal(status, 500);
  assert.deepEqual(body, {
    error: { name: "internal_server_error", message: "Internal Server Error" },
  });
  h.faults.arm({ kind: "html_error", path: "/v1/orders", status: 504 });
  const html = await call(h, "POST", "/v1/orders", ORDER);
  assert.equal(html.status, 504);
  assert.match(html.headers.get("content-type") ?? "", /text\/html/);
  assert.match(await html.text(), /<html>/);
  assert.equal(html.headers.get("Remaining-Req")?.startsWith("group=order;"), true);
  assert.equal(h.exchange.allOrders().length, 0);
  // Count exhausted: the next call goes through with the same identifier.
  const [ok] = await callJson(h, "POST", "/v1/orders", ORDER);
  assert.equal(ok, 201);
  h.close();
});

Deno.test("faults: injected 429 and 418 keep Upbit's bodies", async () => {
  const h = createHarness();
  h.faults.arm({ kind: "rate_limited", path: "/v1/accounts", count: 2 });
  h.faults.arm({ kind: "blocked", path: "/v1/accounts", blockMs: 30_000 });
  for (let i = 0; i < 2; i++) {
    const res = await call(h, "GET", "/v1/accounts");
    assert.equal(res.status, 429);
    assert.equal(await res.text(), "Too many API requests.");
  }
  const blocked = await call(h, "GET", "/v1/accounts");
  assert.equal(blocked.status, 418);
  assert.match(await blocked.text(), /30 seconds/);
  const ok = await call(h, "GET", "/v1/accounts");
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal(h.faults.list().length, 0);
  h.close();
});

Deno.test("faults: delay answers normally after the delay", async () => {
  const h = createHarness();
  h.faults.arm({ kind: "delay", path: "/v1/accounts", delayMs: 50 });
  const started = performance.now();
  const res = await call(h, "GET", "/v1/accounts");
  assert.equal(res.status, 200);
  assert.ok(performance.now() - started >= 45);
  await res.body?.cancel();
  h.close();
});

Deno.test("faults: lose_response hangs until the client gives up; the order is not created", async () => {
  const h = createHarness();
  h.faults.arm({ kind: "lose_response", path: "/v1/orders", method: "POST" });
  const controller = new AbortController();
  const pending = call(h, "POST", "/v1/orders", ORDER, { signal: controller.signal });
  let settled = false;
  pending.then(() => settled = true, () => settled = true);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(settled, false);
  controller.abort();
  const res = await pending.catch((e) => e);
  if (res instanceof Response) await assert.rejects(res.text());
  assert.equal(h.exchange.allOrders().length, 0);
  h.close();
});

Deno.test("faults: accept_then_lose creates the order but the answer never arrives", async () => {
  const h = createHarness();
  h.faults.arm({ kind: "accept_then_lose", path: "/v1/orders", mode: "reset" });
  const res = await call(h, "POST", "/v1/orders", ORDER);
  await assert.rejects(res.text());
  assert.equal(h.exchange.allOrders().length, 1);
  // The retry protocol: look it up by identifier, and a resend is refused.
  const [status, order] = await callJson(h, "GET", "/v1/order", [["identifier", "f-1"]]);
  assert.equal(status, 200);
  assert.equal(order.state, "wait");
  const [dup, body] = await callJson(h, "POST", "/v1/orders", ORDER);
  assert.equal(dup, 400);
  assert.equal(body.error.name, "duplicated_identifier");
  h.close();
});

Deno.test("faults: lose_response over a real socket drops the connection", async () => {
  const h = createHarness();
  h.faults.arm({ kind: "lose_response", path: "/v1/accounts", mode: "reset" });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError: (error) => h.faults.onServeError(error),
  }, h.app.fetch);
  try {
    const url = `http://127.0.0.1:${server.addr.port}/v1/accounts`;
    const failed = await fetch(url).then((r) => r.text()).then(() => false, () => true);
    assert.equal(failed, true);
    assert.equal(h.faults.resets, 1);
  } finally {
    await server.shutdown();
    h.close();
  }
});

Deno.test("faults: the admin routes arm, list and clear faults", async () => {
  const h = createHarness();
  const admin = new Hono().route("/", createFaultAdminRoutes(h.faults));
  const armed = await admin.request("http://s/sandbox/faults", {
    method: "POST",
    body: JSON.stringify({ kind: "server_error", path: "/v1/accounts", count: 2 }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(armed.status, 201);
  const list = await (await admin.request("http://s/sandbox/faults")).json();
  assert.equal(list[0].remaining, 2);
  const bad = await admin.request("http://s/sandbox/faults", {
    method: "POST",
    body: JSON.stringify({ kind: "explode" }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(bad.status, 400);
  const { error } = await bad.json();
  assert.equal(error.name, "validation_error");
  // One line naming the field, not the schema library's multi-line dump.
  assert.match(error.message, /^kind: Invalid option: expected one of "delay"\|.*"blocked"$/);
  await (await admin.request("http://s/sandbox/faults", { method: "DELETE" })).body?.cancel();
  assert.equal(h.faults.list().length, 0);
  h.close();
});
