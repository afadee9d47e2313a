import assert from "node:assert/strict";
import { createLogger, createRedactor } from "../../engine/log.ts";
import { Secret } from "../../engine/secret.ts";

const CANARY = "canary-secret-91b2c";

Deno.test("createRedactor() scrubs configured values, their escaped forms and token shapes", () => {
  const redact = createRedactor([CANARY, 'we"ird\\secret']);
  assert.equal(redact(`a ${CANARY} b`), "a [REDACTED] b");
  assert.equal(redact(JSON.stringify({ s: 'we"ird\\secret' })), '{"s":"[REDACTED]"}');
  assert.equal(redact(encodeURIComponent(`x ${CANARY}`)), "x%20[REDACTED]");
  assert.equal(redact("token eyJhbGc.eyJzdWI.sig-nature"), "token [REDACTED]");
  assert.equal(redact("authorization: Bearer abc"), "authorization: [REDACTED]");
  assert.equal(redact("123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "[REDACTED]");
});

Deno.test("createLogger() writes one JSON line per call, with no secret even when passed one", () => {
  const lines: string[] = [];
  const log = createLogger({
    format: "json",
    write: (l) => lines.push(l),
    nowMs: () => 0,
    secrets: [CANARY],
    base: { mode: "paper" },
  });
  log.info("hello", { amount: 150000000n, leak: CANARY, wrapped: new Secret("other-secret-x") });
  log.error(`failed with ${CANARY}`, { error: new Error(`boom ${CANARY}`) });
  log.debug("hidden");
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.msg, "hello");
  assert.equal(first.mode, "paper");
  assert.equal(first.amount, "1.5");
  assert.equal(first.wrapped, "[REDACTED]");
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes(CANARY)));
});

Deno.test("createLogger() pretty lines are short and still redacted", () => {
  const lines: string[] = [];
  const log = createLogger({
    format: "pretty",
    write: (l) => lines.push(l),
    nowMs: () => Date.UTC(2025, 0, 1, 9, 30, 5),
    secrets: [CANARY],
  });
  log.warn("stale data", { market: "KRW-BTC", note: `has ${CANARY}` });
  assert.equal(
    lines[0],
    '2025-01-01 09:30:05 WARN stale data  market=KRW-BTC note="has [REDACTED]"\n',
  );
});
