import assert from "node:assert/strict";
import { createLogger, createRedactor, LogRing } from "../../engine/log.ts";
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

Deno.test("LogRing keeps the newest lines, redacted and readable, bounded in count and length", () => {
  const ring = new LogRing({ capacity: 3, maxLineLength: 60 });
  const log = createLogger({
    format: "json",
    write: () => {},
    nowMs: () => 0,
    secrets: [CANARY],
    recent: ring,
  });
  log.info("first");
  log.warn(`two lines\nwith ${CANARY}`, { key: CANARY });
  log.error("x".repeat(100));
  assert.deepEqual(ring.recent(10), [
    "1970-01-01 00:00:00 WARN two lines",
    "1970-01-01 00:00:00 WARN with [REDACTED]  key=[REDACTED]",
    `1970-01-01 00:00:00 ERROR ${"x".repeat(33)}…`,
  ]);
  assert.deepEqual(ring.recent(1), [`1970-01-01 00:00:00 ERROR ${"x".repeat(33)}…`]);
  assert.deepEqual(ring.recent(0), []);
  // A secret cut by the length limit is redacted before the cut: no prefix of it remains.
  const cut = new LogRing({ maxLineLength: 40 });
  createLogger({
    format: "pretty",
    write: () => {},
    nowMs: () => 0,
    secrets: [CANARY],
    recent: cut,
  })
    .info(`${"y".repeat(20)}${CANARY}`);
  assert.ok(!cut.recent(1)[0]!.includes(CANARY.slice(0, 6)), cut.recent(1)[0]);
});
