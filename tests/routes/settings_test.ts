/** `parseWebEnv()`: off without a port; one line naming the variable for each mistake. */

import assert from "node:assert/strict";
import { generatePassword, parseWebEnv } from "../../routes/settings.ts";

const PASSWORD = "correct-horse-battery";
const AT = { port: 8080, hostname: "127.0.0.1" };

Deno.test("the page is off without a port, on with one", () => {
  const off = { port: undefined, hostname: "127.0.0.1" };
  assert.deepEqual(parseWebEnv({}, off), { ok: true, value: null });
  assert.deepEqual(parseWebEnv({ WEB_PASSWORD: PASSWORD }, off), { ok: true, value: null });
  const on = parseWebEnv({ WEB_PASSWORD: PASSWORD }, AT);
  assert.ok(on.ok && on.value !== null);
  assert.equal(on.value.hostname, "127.0.0.1");
  assert.equal(on.value.port, 8080);
  assert.equal(on.value.password.reveal(), PASSWORD);
  assert.equal(`${on.value.password}`, "[REDACTED]");
  assert.equal(on.value.passwordGenerated, false);
  assert.equal(on.value.origin, undefined);
  assert.equal(on.value.warning, null);
});

Deno.test("the demo gets a generated password; paper and live must set one", () => {
  const demo = parseWebEnv({}, { ...AT, port: 0, generatePassword: () => "g".repeat(24) });
  assert.ok(demo.ok && demo.value !== null);
  assert.equal(demo.value.password.reveal(), "g".repeat(24));
  assert.equal(demo.value.passwordGenerated, true);
  const set = parseWebEnv({ WEB_PASSWORD: PASSWORD }, {
    ...AT,
    generatePassword: () => "g".repeat(24),
  });
  assert.ok(
    set.ok && set.value?.passwordGenerated === false && set.value.password.reveal() === PASSWORD,
  );
  const a = generatePassword();
  assert.match(a, /^[A-Za-z0-9_-]{24}$/);
  assert.notEqual(a, generatePassword());
});

Deno.test("each mistake is one line naming the variable", () => {
  const cases: [Record<string, string>, Parameters<typeof parseWebEnv>[1], string][] = [
    [{}, AT, "WEB_PASSWORD: must be set to serve the status page (at least 16 characters)"],
    [
      { WEB_PASSWORD: "fifteen-chars15" },
      AT,
      "WEB_PASSWORD: must be at least 16 characters",
    ],
    [
      { WEB_PASSWORD: "fifteen-chars15" },
      { ...AT, port: undefined },
      "WEB_PASSWORD: must be at least 16 characters",
    ],
    [
      { WEB_PASSWORD: PASSWORD },
      { ...AT, hostname: "0.0.0.0" },
      "WEB_ORIGIN: must be set (https://…, a TLS proxy in front) when HTTP_HOST is 0.0.0.0, not loopback",
    ],
    [
      { WEB_PASSWORD: PASSWORD },
      { ...AT, hostname: "0.0.0.0", hostLabel: "--http-host" },
      "WEB_ORIGIN: must be set (https://…, a TLS proxy in front) when --http-host is 0.0.0.0, not loopback",
    ],
    [
      { WEB_PASSWORD: PASSWORD, WEB_ORIGIN: "https://bot.example.com/" },
      AT,
      "WEB_ORIGIN: expected an origin such as https://bot.example.com (no path)",
    ],
    [
      { WEB_PASSWORD: PASSWORD, WEB_METRICS_TOKEN: "short" },
      AT,
      "WEB_METRICS_TOKEN: must be at least 32 characters",
    ],
  ];
  for (const [env, options, expected] of cases) {
    const result = parseWebEnv(env, options);
    assert.ok(!result.ok, expected);
    assert.equal(result.error, expected);
    assert.ok(!result.error.includes(PASSWORD), "the password never shows");
  }
});

Deno.test("binding beyond loopback works behind an https origin, with a warning", () => {
  const result = parseWebEnv({
    WEB_PASSWORD: PASSWORD,
    WEB_ORIGIN: "https://bot.example.com",
    WEB_METRICS_TOKEN: "m".repeat(32),
  }, { ...AT, hostname: "0.0.0.0" });
  assert.ok(result.ok && result.value !== null);
  assert.equal(result.value.origin, "https://bot.example.com");
  assert.equal(result.value.metricsToken?.reveal(), "m".repeat(32));
  assert.match(result.value.warning ?? "", /listens on 0\.0\.0\.0, beyond this machine/);
});
