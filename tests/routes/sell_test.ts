/**
 * Selling one market from the page: the confirmation shows what is held and what selling does,
 * only a traded market has one, the confirmed post reaches the operator's `sell` command as
 * `web:<session>` (audited), an unconfirmed one does nothing; the JSON API takes it too.
 */

import assert from "node:assert/strict";
import { withWorld } from "./_web_world.ts";

Deno.test("the confirmation shows the position and asks; Cancel goes back", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request("/sell/KRW-BTC", { headers: { cookie } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<h1>Sell all of KRW-BTC\?<\/h1>/);
    assert.match(html, /Held: 0\.002 at an average of 100,000,000 KRW\./);
    assert.match(html, /<form method="post" action="\/sell\/KRW-BTC">/);
    assert.match(html, /name="confirm" value="yes"/);
    assert.match(html, /<a class="button secondary" href="\/">Cancel<\/a>/);
    const flat = await (await w.request("/sell/KRW-ETH", { headers: { cookie } })).text();
    assert.match(flat, /The bot holds nothing on KRW-ETH\./);
    const ko = await w.request("/sell/KRW-BTC", { headers: { cookie: `${cookie}; lang=ko` } });
    const koHtml = await ko.text();
    assert.match(koHtml, /<h1>KRW-BTC 전량을 매도할까요\?<\/h1>/);
    assert.match(koHtml, /네, KRW-BTC 매도/);
    assert.equal((await w.operator.auditLog({ limit: 1 })).length, 0, "asking runs nothing");
  });
});

Deno.test("the confirmed post reaches the operator's sell as web:<session>", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const unconfirmed = await w.postForm("/sell/KRW-BTC", { _csrf: token }, cookie);
    assert.equal(unconfirmed.status, 400);
    assert.match(await unconfirmed.text(), /^confirm: /);
    assert.equal((await w.operator.auditLog({ limit: 1 })).length, 0);
    const res = await w.postForm("/sell/KRW-BTC", { _csrf: token, confirm: "yes" }, cookie);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/");
    const [audit] = await w.operator.auditLog({ limit: 1 });
    assert.equal(audit!.command, "sell KRW-BTC");
    assert.match(audit!.actor, /^web:[0-9a-f]{16}$/);
    // This world's operator has no running bot (no exchange): the operator refuses, saying so.
    assert.equal(audit!.result, "refused");
    const json = await w.postJson(
      "/api/control",
      { kind: "sell", market: "KRW-ETH", confirmed: true },
      cookie,
      token,
    );
    assert.equal(json.status, 200);
    const body = await json.json();
    assert.equal(body.command, "sell KRW-ETH");
    assert.equal(typeof body.detail, "string");
    assert.equal((await w.operator.auditLog({ limit: 5 })).length, 2);
  });
});
