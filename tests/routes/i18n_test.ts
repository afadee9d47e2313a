/**
 * Korean and English: the language of a request (cookie, else `Accept-Language`, else English),
 * the switch link (cookie, safe redirect only), and the sign-in page rendered in each language.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  isLang,
  LANG_COOKIE,
  langOfAcceptLanguage,
  langSwitchHref,
  messagesOf,
  safeNext,
} from "../../routes/i18n.ts";
import { withWorld } from "./_web_world.ts";

Deno.test("Accept-Language: the best of ours by q-value, else none", () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ["", undefined],
    ["ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"],
    ["en-US,en;q=0.9,ko;q=0.8", "en"],
    ["fr-FR,fr;q=0.9,ko;q=0.5,en;q=0.4", "ko"],
    ["fr, de", undefined],
    ["ko;q=0, en;q=0.1", "en"],
    ["en;q=0.3, KO;q=0.6", "ko"],
    ["*", undefined],
  ];
  for (const [header, expected] of cases) {
    assert.equal(langOfAcceptLanguage(header), expected, String(header));
  }
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (header) => {
    const lang = langOfAcceptLanguage(header);
    assert.ok(lang === undefined || isLang(lang));
  }));
});

Deno.test("messages: placeholders filled; Korean differs from English where it should", () => {
  const en = messagesOf("en");
  const ko = messagesOf("ko");
  assert.equal(en("sell.button", { market: "KRW-BTC" }), "Sell KRW-BTC");
  assert.equal(ko("sell.button", { market: "KRW-BTC" }), "KRW-BTC 매도");
  assert.equal(ko("reports.buys", { n: 5 }), "매수 5건");
  assert.equal(en("sell.button"), "Sell {market}", "without vars the text is as written");
  assert.equal(ko("nav.trades"), "체결 내역");
  assert.notEqual(ko("login.wrong"), en("login.wrong"));
});

Deno.test("the switch goes back only to a path of this site", () => {
  for (const ok of ["/", "/trades?cursor=abc", "/reports/2026-12-04", "/settings"]) {
    assert.equal(safeNext(ok), ok);
  }
  for (
    const bad of [
      undefined,
      "",
      "//evil.example",
      "/\\evil.example",
      "https://evil.example",
      "javascript:alert(1)",
      "/a b",
      "/" + "a".repeat(600),
    ]
  ) assert.equal(safeNext(bad), "/", String(bad));
  assert.equal(langSwitchHref("ko", "/trades?cursor=x"), "/lang/ko?next=%2Ftrades%3Fcursor%3Dx");
  fc.assert(fc.property(fc.string(), (next) => {
    const out = safeNext(next);
    assert.ok(out.startsWith("/") && !out.startsWith("//") && !out.startsWith("/\\"));
  }));
});

Deno.test("the sign-in page speaks Korean by header, by cookie, and the cookie wins", async () => {
  await withWorld(async (w) => {
    const en = await (await w.request("/login")).text();
    assert.match(en, /<html lang="en">/);
    assert.match(en, /Password/);
    assert.match(en, /href="\/lang\/ko\?next=%2Flogin"/);
    const ko = await w.request("/login", { headers: { "accept-language": "ko-KR,ko;q=0.9" } });
    const koHtml = await ko.text();
    assert.match(koHtml, /<html lang="ko">/);
    assert.match(koHtml, /비밀번호/);
    assert.match(koHtml, /English/);
    assert.match(ko.headers.get("vary") ?? "", /Accept-Language/);
    const chosen = await w.request("/login", {
      headers: { "accept-language": "ko", cookie: `${LANG_COOKIE}=en` },
    });
    assert.match(await chosen.text(), /<html lang="en">/);
    const wrong = await w.postForm("/login", { password: "wrong-password-123" });
    assert.match(await wrong.text(), /Wrong password\./);
    const wrongKo = await w.request("/login", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: w.origin,
        cookie: `${LANG_COOKIE}=ko`,
      },
      body: "password=wrong-password-456",
    });
    assert.equal(wrongKo.status, 401);
    assert.match(await wrongKo.text(), /비밀번호가 틀렸습니다\./);
  });
});

Deno.test("GET /lang/ko sets the cookie and goes back; a bad target goes home", async () => {
  await withWorld(async (w) => {
    const res = await w.request("/lang/ko?next=%2Ftrades%3Fcursor%3Dx", { redirect: "manual" });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/trades?cursor=x");
    const cookie = res.headers.get("set-cookie") ?? "";
    assert.match(cookie, /^lang=ko;/);
    for (const attr of ["Path=/", "SameSite=Lax", "HttpOnly", "Max-Age=31536000"]) {
      assert.ok(cookie.includes(attr), `${attr} in ${cookie}`);
    }
    const evil = await w.request("/lang/en?next=%2F%2Fevil.example", { redirect: "manual" });
    assert.equal(evil.headers.get("location"), "/");
    assert.equal((await w.request("/lang/fr", { redirect: "manual" })).status, 404);
  });
});
