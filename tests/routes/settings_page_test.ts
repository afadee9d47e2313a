/**
 * The settings page over the app: every parameter with its start-up value and override, a
 * change through the operator (audited as `web:<session>`, in the history), a refusal shown
 * inline with the field and the reason (422, the typed value kept), back to the start-up value,
 * and Korean.
 */

import assert from "node:assert/strict";
import { withWorld } from "./_web_world.ts";

Deno.test("the settings page lists every parameter with start-up and in-force values", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request("/settings", { headers: { cookie } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /aria-current="page">Settings</);
    const params = await w.operator.params();
    assert.ok(params.params.length >= 7);
    for (const p of params.params) {
      assert.ok(html.includes(`id="p-${p.name}"`), p.name);
    }
    assert.match(html, /No change yet\./);
    assert.match(html, /No command yet\./);
  });
});

Deno.test("a change goes through the operator, is audited and shows in the history", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const res = await w.postForm(
      "/settings",
      { _csrf: token, name: "stop-loss", value: "2.5", action: "set" },
      cookie,
    );
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/settings?saved=stop-loss#p-stop-loss");
    const params = await w.operator.params();
    const stop = params.params.find((p) => p.name === "stop-loss")!;
    assert.equal(stop.value, 2.5);
    assert.equal(stop.overridden, true);
    const [audit] = await w.operator.auditLog({ limit: 1 });
    assert.equal(audit!.command, "set stop-loss 2.5");
    assert.equal(audit!.result, "done");
    assert.match(audit!.actor, /^web:[0-9a-f]{16}$/);
    const html = await (await w.request("/settings?saved=stop-loss", { headers: { cookie } }))
      .text();
    assert.match(html, /stop-loss is now 2\.5\./);
    assert.match(html, /class="badge warn">override</);
    assert.match(html, /set stop-loss 2\.5/);
    assert.ok(html.includes(`${audit!.actor} · `), "the audit log names the session");
    assert.match(html, /v1 · web:/, "the history has the change");
    // Back to the start-up value.
    const unset = await w.postForm(
      "/settings",
      { _csrf: token, name: "stop-loss", action: "unset" },
      cookie,
    );
    assert.equal(unset.status, 303);
    const after = (await w.operator.params()).params.find((p) => p.name === "stop-loss")!;
    assert.equal(after.overridden, false);
    assert.equal(after.value, after.startup);
  });
});

Deno.test("a refused change is shown with its field and reason, the typed value kept", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const before = await w.operator.params();
    const res = await w.postForm(
      "/settings",
      { _csrf: token, name: "stop-loss", value: "-3", action: "set" },
      cookie,
    );
    assert.equal(res.status, 422);
    const html = await res.text();
    const row = html.slice(html.indexOf('id="p-stop-loss"'));
    const field = row.slice(0, row.indexOf("</li>"));
    assert.match(field, /value="-3"/);
    assert.match(field, /aria-invalid="true"/);
    assert.match(
      field,
      /id="p-stop-loss-error" class="error" role="alert">Not changed: stop-loss: /,
    );
    assert.deepEqual(await w.operator.params(), before, "nothing changed");
    const [audit] = await w.operator.auditLog({ limit: 1 });
    assert.equal(audit!.result, "refused");
    const unknown = await w.postForm(
      "/settings",
      { _csrf: token, name: "no-such-thing", value: "1" },
      cookie,
    );
    assert.equal(unknown.status, 422);
    assert.match(await unknown.text(), /name: no such parameter/);
    const reset = await w.postForm(
      "/settings",
      { _csrf: token, name: "take-profit", action: "unset" },
      cookie,
    );
    assert.equal(reset.status, 422);
    assert.match(await reset.text(), /take-profit: no override to remove/);
  });
});

Deno.test("the settings page in Korean", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request("/settings", { headers: { cookie, "accept-language": "ko" } });
    const html = await res.text();
    assert.match(html, /<h1>설정<\/h1>/);
    assert.match(html, /진입가 대비 이 % 하락 시 매도/);
    assert.match(html, /아직 변경이 없습니다\./);
  });
});
