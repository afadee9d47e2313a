/**
 * Tests of `createSandbox`'s wiring: the fault admin routes, the middleware order and the server's
 * quiet handling of injected resets.
 */

import assert from "node:assert/strict";
import { createSandbox, type Sandbox, type SandboxOptions } from "../../../engine/sandbox/mod.ts";
import { Faults } from "../../../engine/sandbox/faults.ts";

const FILES = ["data/upbit-KRW-BTC-1d.csv"];

async function start(options: SandboxOptions = {}): Promise<Sandbox> {
  return await createSandbox({
    port: 0,
    dataFiles: FILES,
    manualClock: true,
    startAt: "2025-08-01T06:00:00Z",
    ...options,
  });
}

Deno.test("createSandbox() does not serve the fault admin routes unless adminFaults is on", async () => {
  const sb = await start();
  try {
    for (const path of ["/sandbox/faults", "/sandbox/faults/sandbox/faults"]) {
      for (const method of ["GET", "POST", "DELETE"]) {
        const res = await fetch(sb.restUrl + path, {
          method,
          ...(method === "POST"
            ? {
              body: JSON.stringify({ kind: "server_error" }),
              headers: { "content-type": "application/json" },
            }
            : {}),
        });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.deepEqual(await res.json(), {
          error: { name: "not_found", message: "no Route matched with those values" },
        });
      }
    }
    assert.equal(sb.faults.rest.list().length, 0);
  } finally {
    await sb.close();
  }
});

Deno.test("createSandbox({ adminFaults: true }) arms, lists and clears faults over HTTP", async () => {
  const sb = await start({ adminFaults: true });
  try {
    const nested = await fetch(`${sb.restUrl}/sandbox/faults/sandbox/faults`);
    assert.equal(nested.status, 404);
    await nested.body?.cancel();

    const armed = await fetch(`${sb.restUrl}/sandbox/faults`, {
      method: "POST",
      body: JSON.stringify({ kind: "server_error", path: "/v1/market/all", count: 1 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(armed.status, 201);
    const { id } = await armed.json();
    assert.equal(typeof id, "number");
    const listed = await (await fetch(`${sb.restUrl}/sandbox/faults`)).json();
    assert.equal(listed.length, 1);
    assert.equal(listed[0].kind, "server_error");
    assert.equal(listed[0].remaining, 1);

    const hit = await fetch(`${sb.restUrl}/v1/market/all`);
    assert.equal(hit.status, 500);
    assert.deepEqual(await hit.json(), {
      error: { name: "internal_server_error", message: "Internal Server Error" },
    });
    const after = await fetch(`${sb.restUrl}/v1/market/all`);
    assert.equal(after.status, 200);
    await after.body?.cancel();

    const bad = await fetch(`${sb.restUrl}/sandbox/faults`, {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.name, "invalid_parameter");

    sb.faults.rest.arm({ kind: "delay", count: 5 });
    const cleared = await fetch(`${sb.restUrl}/sandbox/faults`, { method: "DELETE" });
    assert.equal(cleared.status, 200);
    await cleared.body?.cancel();
    assert.equal(sb.faults.rest.list().length, 0);
  } finally {
    await sb.close();
  }
});

Deno.test("createSandbox() puts Remaining-Req on injected 500, 502, 429 and 418 answers", async () => {
  const sb = await start();
  try {
    sb.faults.rest.arm({ kind: "server_error", path: "/v1/ticker" });
    const res500 = await sb.app.request("http://sandbox/v1/ticker?markets=KRW-BTC");
    assert.equal(res500.status, 500);
    assert.equal(res500.headers.get("Remaining-Req"), "group=ticker; min=600; sec=9");
    assert.equal(res500.headers.get("limit-by-ip"), "Yes");
    assert.equal((await res500.json()).error.name, "internal_server_error");

    sb.faults.rest.arm({ kind: "html_error", path: "/v1/accounts", status: 502 });
    const res502 = await sb.app.request("http://sandbox/v1/accounts");
    assert.equal(res502.status, 502);
    assert.match(res502.headers.get("Remaining-Req") ?? "", /^group=default; min=1800; sec=\d+$/);
    await res502.body?.cancel();

    sb.faults.rest.arm({ kind: "rate_limited", path: "/v1/market/all" });
    const res429 = await sb.app.request("http://sandbox/v1/market/all");
    assert.equal(res429.status, 429);
    assert.equal(await res429.text(), "Too many API requests.");
    assert.match(res429.headers.get("Remaining-Req") ?? "", /^group=market; min=600; sec=\d+$/);

    sb.faults.rest.arm({ kind: "blocked", path: "/v1/market/all", blockMs: 5_000 });
    const res418 = await sb.app.request("http://sandbox/v1/market/all");
    assert.equal(res418.status, 418);
    assert.match(await res418.text(), /blocked for 5 seconds/);
    assert.match(res418.headers.get("Remaining-Req") ?? "", /^group=market; min=600; sec=\d+$/);

    // Over the real socket too.
    sb.faults.rest.arm({ kind: "server_error", path: "/v1/market/all" });
    const real = await fetch(`${sb.restUrl}/v1/market/all`);
    assert.equal(real.status, 500);
    assert.match(real.headers.get("Remaining-Req") ?? "", /^group=market; min=600; sec=\d+$/);
    await real.body?.cancel();
  } finally {
    await sb.close();
  }
});

Deno.test("createSandbox() counts an injected reset quietly: no stack trace on stderr", async () => {
  // Deno.serve's default onError prints through its own console, so only a child's stderr shows it.
  const mod = new URL("../../../engine/sandbox/mod.ts", import.meta.url).href;
  const code = `
    import { createSandbox } from ${JSON.stringify(mod)};
    const sb = await createSandbox({ port: 0, dataFiles: ${
    JSON.stringify(FILES)
  }, manualClock: true });
    sb.faults.rest.arm({ kind: "lose_response", path: "/v1/accounts", mode: "reset", count: 2 });
    sb.faults.rest.arm({ kind: "accept_then_lose", path: "/v1/orders", mode: "reset" });
    const lost = [];
    for (const path of ["/v1/accounts", "/v1/accounts", "/v1/orders"]) {
      const method = path === "/v1/orders" ? "POST" : "GET";
      lost.push(await fetch(sb.restUrl + path, { method }).then((r) => r.text()).then(() => false, () => true));
    }
    await sb.close();
    console.log(JSON.stringify({ lost, resets: sb.faults.rest.resets }));
  `;
  const root = new URL("../../../", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    lost: [true, true, true],
    resets: 3,
  });
});

Deno.test("Faults.onServeError still prints an error that is not an injected fault", () => {
  const faults = new Faults();
  const printed: unknown[] = [];
  // deno-lint-ignore no-console -- the test watches what the handler prints
  const original = console.error;
  // deno-lint-ignore no-console
  console.error = (...args: unknown[]) => printed.push(...args);
  try {
    const boom = new Error("a real bug");
    const res = faults.onServeError(boom);
    assert.equal(res.status, 500);
    assert.deepEqual(printed, [boom]);
    assert.equal(faults.resets, 0);
  } finally {
    // deno-lint-ignore no-console
    console.error = original;
  }
});
