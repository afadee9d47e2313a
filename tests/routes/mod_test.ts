/**
 * The status page's security rules (reliability.md §4), each with `app.request()`: health
 * without auth or data, sign-in (wrong password, cookie attributes), sessions (none, expired,
 * logged out), cross-site posts, CSRF tokens on forms and JSON, body limits before any work, the
 * login rate limit persisted across a restart, the CSP on every HTML answer, and the refusals at
 * construction (short password, plain http off loopback).
 */

import assert from "node:assert/strict";
import { KvSessionStore } from "../../engine/adapters/kv_session_store.ts";
import { ConfigError, createOperator, Secret } from "../../engine/mod.ts";
import {
  createWebApp,
  loadStaticAssets,
  MAX_BODY_BYTES,
  SESSION_TTL_MS,
} from "../../routes/mod.ts";
import { equalSecret } from "../../routes/session.ts";
import { RecordingNotifier, StepClock } from "../engine/_trader_fixtures.ts";
import { CLIENT, ORIGIN, PASSWORD, type WebWorld, withWorld } from "./_web_world.ts";

/** Every control route with a valid body of its kind (form or JSON). */
function controlPosts(cookie: string | undefined, token: string | undefined, origin = ORIGIN) {
  const base = { origin, ...(cookie === undefined ? {} : { cookie }) };
  return [
    form("/control/pause", { confirm: "yes" }),
    json("/api/control", { kind: "pause", confirmed: true }),
    form("/logout", {}),
    form("/control/resume", { confirm: "yes" }),
    form("/control/stop", { confirm: "yes" }),
    form("/sell/KRW-BTC", { confirm: "yes" }),
    json("/api/control", { kind: "sell", market: "KRW-BTC", confirmed: true }),
    form("/settings", { name: "stop-loss", value: "2", action: "set" }),
  ];
  function json(path: string, body: Record<string, unknown>) {
    return {
      path,
      init: {
        method: "POST",
        headers: {
          ...base,
          "content-type": "application/json",
          ...(token === undefined ? {} : { "x-csrf-token": token }),
        },
        body: JSON.stringify(body),
      },
    };
  }
  function form(path: string, fields: Record<string, string>) {
    return {
      path,
      init: {
        method: "POST",
        headers: { ...base, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          ...fields,
          ...(token === undefined ? {} : { _csrf: token }),
        }).toString(),
      },
    };
  }
}

/** Every control route that takes a form (the cross-site check is by Origin). */
function formPosts(cookie: string, token: string, origin: string) {
  return controlPosts(cookie, token, origin).filter((p) =>
    (p.init.headers as Record<string, string>)["content-type"] !==
      "application/json"
  );
}

/** No command reached the operator (none audited, not paused). */
async function nothingRan(w: WebWorld): Promise<boolean> {
  return (await w.operator.auditLog({ limit: 1 })).length === 0 && !await paused(w);
}

async function paused(w: WebWorld): Promise<boolean> {
  return (await w.operator.status()).paused;
}

Deno.test("/healthz answers without a session and says nothing about the bot", async () => {
  await withWorld(async (w) => {
    const res = await w.request("/healthz");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok");
    assert.equal(res.headers.get("cache-control"), "no-store");
  });
});

Deno.test("without a session: pages redirect to /login, the API and controls answer 401", async () => {
  await withWorld(async (w) => {
    for (const path of ["/", "/control/pause"]) {
      const res = await w.request(path, { redirect: "manual" });
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get("location"), "/login");
    }
    assert.equal((await w.request("/api/status")).status, 401);
    for (const { path, init } of controlPosts(undefined, undefined)) {
      assert.equal((await w.request(path, init)).status, 401, path);
    }
    const forged = "sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert.equal((await w.request("/api/status", { headers: { cookie: forged } })).status, 401);
    assert.equal(await nothingRan(w), true);
  });
});

Deno.test("a wrong password gets 401 and no cookie; the right one a session cookie", async () => {
  await withWorld(async (w) => {
    for (const password of ["wrong-password-123456", PASSWORD.slice(0, -1), PASSWORD + "x", ""]) {
      const res = await w.postForm("/login", { password });
      assert.equal(res.status, 401, password);
      assert.equal(res.headers.get("set-cookie"), null);
      assert.match(await res.text(), /Wrong password/);
    }
    assert.equal((await w.postForm("/login", {})).status, 401, "no password field");
    await w.restart(); // the 5 failures above would rate-limit the next try: new client below
    const res = await w.request("/login", {
      method: "POST",
      client: "198.51.100.1",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
      redirect: "manual",
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/");
    const cookie = res.headers.get("set-cookie")!;
    assert.match(cookie, /^sid=[A-Za-z0-9_-]{43};/);
    for (const attr of ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"]) {
      assert.ok(cookie.includes(attr), `${attr} in ${cookie}`);
    }
    assert.ok(!/Secure|Domain/i.test(cookie), "plain http on loopback: no Secure, no Domain");
    const page = await w.request("/", { headers: { cookie: cookie.split(";")[0]! } });
    assert.equal(page.status, 200);
  });
});

Deno.test("over https the cookie is __Host-sid, Secure, and HSTS is sent", async () => {
  const origin = "https://bot.example.com";
  await withWorld(async (w) => {
    const res = await w.postForm("/login", { password: PASSWORD });
    assert.equal(res.status, 303);
    const cookie = res.headers.get("set-cookie")!;
    assert.match(cookie, /^__Host-sid=[A-Za-z0-9_-]{43};/);
    for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) {
      assert.ok(cookie.includes(attr), `${attr} in ${cookie}`);
    }
    assert.ok(!/Domain/i.test(cookie));
    assert.match(res.headers.get("strict-transport-security") ?? "", /max-age=\d+/);
    const page = await w.request("/", { headers: { cookie: cookie.split(";")[0]! } });
    assert.equal(page.status, 200);
    // A plain `sid` cookie (what an http page would set) is not the https page's session.
    const plain = cookie.split(";")[0]!.replace("__Host-sid", "sid");
    assert.equal((await w.request("/api/status", { headers: { cookie: plain } })).status, 401);
  }, { origin });
  await withWorld(async (w) => {
    assert.equal((await w.request("/healthz")).headers.get("strict-transport-security"), null);
  });
});

Deno.test("an expired session is refused everywhere; a live one works until then", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    w.clock.set(w.clock.nowMs() + SESSION_TTL_MS - 1_000);
    assert.equal((await w.request("/api/status", { headers: { cookie } })).status, 200);
    w.clock.set(w.clock.nowMs() + 1_000);
    assert.equal((await w.request("/api/status", { headers: { cookie } })).status, 401);
    const page = await w.request("/", { headers: { cookie }, redirect: "manual" });
    assert.equal(page.status, 303);
    for (const { path, init } of controlPosts(cookie, token)) {
      assert.equal((await w.request(path, init)).status, 401, path);
    }
    assert.equal(await nothingRan(w), true);
  });
});

Deno.test("log out ends the session for good", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const res = await w.postForm("/logout", { _csrf: token }, cookie);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/login");
    assert.match(res.headers.get("set-cookie") ?? "", /^sid=;.*Max-Age=0/);
    assert.equal((await w.request("/api/status", { headers: { cookie } })).status, 401);
  });
});

Deno.test("a cross-site post is 403 (forms by Origin, JSON by its token) and runs nothing", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    // A cross-site form post carries the site's cookie only without SameSite=Strict; with it,
    // the Origin check still refuses it.
    for (const origin of ["https://evil.example", "http://127.0.0.1:9999", "null"]) {
      for (const { path, init } of formPosts(cookie, token, origin)) {
        assert.equal((await w.request(path, init)).status, 403, `${path} from ${origin}`);
      }
    }
    // A form post without Origin and Sec-Fetch-Site is refused too.
    const bare = await w.request("/control/pause", {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: token, confirm: "yes" }).toString(),
    });
    assert.equal(bare.status, 403);
    // Sign-in from another site (login CSRF) is refused.
    const login = await w.request("/login", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "https://evil.example",
      },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
    });
    assert.equal(login.status, 403);
    assert.equal(await nothingRan(w), true);
  });
});

Deno.test("a missing or wrong CSRF token is 403 on forms and JSON; other bodies are 415", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    for (const { path, init } of controlPosts(cookie, undefined)) {
      assert.equal((await w.request(path, init)).status, 403, `${path} without a token`);
    }
    const other = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    for (const { path, init } of controlPosts(cookie, other)) {
      assert.equal((await w.request(path, init)).status, 403, `${path} with a wrong token`);
    }
    // Another session's token does not work either.
    const second = await w.login();
    const theirs = await w.csrfOf(second);
    for (const { path, init } of controlPosts(cookie, theirs)) {
      assert.equal((await w.request(path, init)).status, 403, `${path} with another's token`);
    }
    const plain = await w.request("/api/control", {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/octet-stream" },
      body: "{}",
    });
    assert.equal(plain.status, 415);
    assert.equal(await nothingRan(w), true);
    // The same post with the token runs.
    const [, json] = controlPosts(cookie, token);
    const ok = await w.request(json!.path, json!.init);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).result, "done");
    assert.equal(await paused(w), true);
  });
});

Deno.test("a body over the limit is 413 before any session, token or password check", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const big = "x".repeat(MAX_BODY_BYTES + 1);
    for (const { path, init } of controlPosts(cookie, token)) {
      const json = (init.headers as Record<string, string>)["content-type"] === "application/json";
      const body = json
        ? JSON.stringify({ kind: "pause", confirmed: true, pad: big })
        : `${init.body}&pad=${big}`;
      assert.equal((await w.request(path, { ...init, body })).status, 413, path);
    }
    for (const { path, init } of controlPosts(undefined, undefined)) {
      assert.equal((await w.request(path, { ...init, body: big })).status, 413, `${path} anon`);
    }
    // Without a Content-Length (a stream), the limit still holds.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(`password=${big}`));
        c.close();
      },
    });
    const res = await w.request("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: stream,
    });
    assert.equal(res.status, 413);
    assert.equal(await nothingRan(w), true);
    // The oversized logins were not counted as failed logins (no work was done).
    assert.equal((await w.postForm("/login", { password: PASSWORD })).status, 303);
  });
});

Deno.test("the 6th failed login in 15 minutes is 429, also after a restart", async () => {
  await withWorld(async (w) => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await w.postForm("/login", { password: `wrong-password-${i}` })).status, 401);
    }
    const sixth = await w.postForm("/login", { password: PASSWORD });
    assert.equal(sixth.status, 429, "even the right password once limited");
    assert.equal(sixth.headers.get("retry-after"), "900");
    assert.equal(sixth.headers.get("set-cookie"), null);
    await w.restart();
    assert.equal((await w.postForm("/login", { password: PASSWORD })).status, 429, "restart");
    // Another client address is not limited by this one's failures.
    const other = await w.request("/login", {
      method: "POST",
      client: "198.51.100.9",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
      redirect: "manual",
    });
    assert.equal(other.status, 303);
    // Past 15 minutes after the failures (a 429 is not a failure), the client may try again.
    w.clock.set(w.clock.nowMs() + 15 * 60_000);
    assert.equal((await w.postForm("/login", { password: PASSWORD })).status, 429, "15 min");
    w.clock.set(w.clock.nowMs() + 1);
    assert.equal((await w.postForm("/login", { password: PASSWORD })).status, 303);
  });
});

Deno.test("20 failed logins in an hour from any addresses limit everyone", async () => {
  await withWorld(async (w) => {
    const post = (client: string, password: string) =>
      w.request("/login", {
        method: "POST",
        client,
        headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
        body: new URLSearchParams({ password }).toString(),
        redirect: "manual",
      });
    for (let i = 0; i < 20; i++) {
      assert.equal((await post(`192.0.2.${i}`, "wrong-password-xx")).status, 401, `try ${i}`);
    }
    const res = await post("192.0.2.200", PASSWORD);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "3600");
    assert.notEqual(CLIENT, "192.0.2.200");
  });
});

Deno.test("wrong methods and unknown controls do nothing", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const get = await w.request("/api/control", { headers: { cookie } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    const put = await w.request("/control/pause", {
      method: "PUT",
      headers: {
        cookie,
        origin: ORIGIN,
        "content-type": "application/json",
        "x-csrf-token": token,
      },
      body: "{}",
    });
    assert.equal(put.status, 404);
    const unknown = await w.postForm("/control/sell", { _csrf: token, confirm: "yes" }, cookie);
    assert.equal(unknown.status, 404);
    const bad = await w.postJson("/api/control", { kind: "buy", confirmed: true }, cookie, token);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^kind: /);
    const noMarket = await w.postJson(
      "/api/control",
      { kind: "sell", confirmed: true },
      cookie,
      token,
    );
    assert.equal(noMarket.status, 400);
    assert.match(await noMarket.text(), /^market: /);
    for (const path of ["/sell/KRW-BTC", "/settings"]) {
      for (const method of ["PUT", "PATCH", "DELETE"]) {
        const res = await w.request(path, {
          method,
          headers: {
            cookie,
            origin: ORIGIN,
            "content-type": "application/x-www-form-urlencoded",
          },
          body: new URLSearchParams({ _csrf: token, confirm: "yes" }).toString(),
        });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.match(res.headers.get("allow") ?? "", /POST/);
      }
    }
    for (const market of ["KRW-XRP", "krw-btc", "KRW-BTC%2F..", "x"]) {
      assert.equal((await w.request(`/sell/${market}`, { headers: { cookie } })).status, 404);
      const post = await w.postForm(`/sell/${market}`, { _csrf: token, confirm: "yes" }, cookie);
      assert.equal(post.status, 404, market);
    }
    const unconfirmed = await w.postJson("/api/control", { kind: "stop" }, cookie, token);
    assert.equal(unconfirmed.status, 400);
    assert.match(await unconfirmed.text(), /^confirmed: /);
    assert.equal(await nothingRan(w), true);
  });
});

Deno.test("every HTML answer carries a strict CSP with a fresh nonce and no inline code", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const nonces = new Set<string>();
    const pages: [string, string | undefined][] = [
      ["/login", undefined],
      ["/", cookie],
      ["/control/pause", cookie],
      ["/control/stop", cookie],
      ["/trades", cookie],
      ["/settings", cookie],
      ["/sell/KRW-BTC", cookie],
      ["/reports", cookie],
      ["/backtests", cookie],
    ];
    for (const [path, c] of pages) {
      const res = await w.request(path, c === undefined ? {} : { headers: { cookie: c } });
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      const csp = res.headers.get("content-security-policy") ?? "";
      for (
        const part of [
          "default-src 'self'",
          "style-src 'self'",
          "object-src 'none'",
          "base-uri 'none'",
          "frame-ancestors 'none'",
          "form-action 'self'",
        ]
      ) assert.ok(csp.includes(part), `${path}: ${part} in ${csp}`);
      const nonce = /script-src 'self' 'nonce-([A-Za-z0-9+/=_-]+)'/.exec(csp)?.[1];
      assert.ok(nonce !== undefined, `${path}: nonce in ${csp}`);
      nonces.add(nonce);
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const html = await res.text();
      assert.ok(html.startsWith("<!doctype html>"), path);
      assert.ok(!/<script(?![^>]*\bnonce=)/.test(html), `${path}: no script without a nonce`);
      assert.ok(!/<style|\sstyle=|\son[a-z]+=/.test(html), `${path}: no inline style or handler`);
    }
    assert.equal(nonces.size, pages.length, "a new nonce per answer");
    const error = await w.postForm("/login", { password: "wrong-password-000" });
    assert.match(error.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  });
});

Deno.test("the app refuses a short password and plain http off loopback", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const clock = new StepClock();
    const base = {
      operator: createOperator({
        store: undefined as never,
        clock,
        notifier: new RecordingNotifier(),
      }),
      events: {
        follow: undefined as never,
        read: undefined as never,
        lastId: () => Promise.resolve(undefined),
      },
      sessions: new KvSessionStore(kv),
      clock,
      assets: await loadStaticAssets(new URL("../../static/", import.meta.url)),
    };
    assert.throws(
      () => createWebApp({ ...base, password: new Secret("short-password1"), origin: ORIGIN }),
      (e) =>
        e instanceof ConfigError && /WEB_PASSWORD: must be at least 16 characters/.test(e.message),
    );
    for (const origin of ["http://192.168.0.10:8080", "http://bot.example.com", "ftp://x", "x"]) {
      assert.throws(
        () => createWebApp({ ...base, password: new Secret(PASSWORD), origin }),
        (e) => e instanceof ConfigError && /^WEB_ORIGIN: /.test(e.message),
        origin,
      );
    }
    for (const origin of ["http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:8080"]) {
      createWebApp({ ...base, password: new Secret(PASSWORD), origin });
    }
    assert.throws(
      () =>
        createWebApp({ ...base, password: new Secret(PASSWORD), origin: "https://a.example/x" }),
      ConfigError,
    );
  } finally {
    kv.close();
  }
});

Deno.test("equalSecret() is equality, whatever the lengths", async () => {
  assert.equal(await equalSecret(PASSWORD, PASSWORD), true);
  assert.equal(await equalSecret(PASSWORD, PASSWORD + " "), false);
  assert.equal(await equalSecret("", ""), true);
  assert.equal(await equalSecret("a", ""), false);
  assert.equal(await equalSecret("가나다", "가나다"), true);
  assert.equal(await equalSecret("가나다", "가나라"), false);
});
