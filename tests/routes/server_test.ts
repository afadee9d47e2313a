/**
 * `startWebServer()` over a real socket: bound to 127.0.0.1 on a free port, the app built for
 * the origin the server got, sign-in and the event stream over HTTP, and a shutdown that ends
 * the open event streams instead of waiting for them.
 */

import assert from "node:assert/strict";
import { startWebServer } from "../../routes/server.ts";
import { PASSWORD, serveEmptyApp } from "./_web_world.ts";

Deno.test("the server binds loopback, serves the page and shuts down with streams open", async () => {
  const { server, kv } = await serveEmptyApp({ password: PASSWORD });
  try {
    assert.match(server.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.address, server.origin.slice("http://".length));
    const health = await fetch(`${server.origin}/healthz`);
    assert.equal(await health.text(), "ok");
    const login = await fetch(`${server.origin}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.origin },
      body: new URLSearchParams({ password: PASSWORD }),
      redirect: "manual",
    });
    await login.body?.cancel();
    assert.equal(login.status, 303, "the app was built for the server's own origin");
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const stream = await fetch(`${server.origin}/api/events`, { headers: { cookie } });
    assert.equal(stream.status, 200);
    const reading = new Response(stream.body).text();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      server.shutdown().then(() => "closed"),
      new Promise((r) => timer = setTimeout(() => r("held by the open stream"), 3_000)),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, "closed");
    await reading;
  } finally {
    kv.close();
  }
});

Deno.test("a failing build closes the server it opened", async () => {
  await assert.rejects(
    () =>
      startWebServer({
        hostname: "127.0.0.1",
        port: 0,
        origin: "http://192.168.1.1:80",
        build: () => {
          throw new Error("refused");
        },
      }),
    /refused/,
  );
});
