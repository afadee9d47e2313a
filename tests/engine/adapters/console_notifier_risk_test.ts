/**
 * Tests of the console notifier's risk lines: the account's daily loss limit reads as the
 * account's equity against the day's start, never as a market's price.
 */

import assert from "node:assert/strict";
import { describeEvent } from "../../../engine/adapters/console_notifier.ts";

const AT_MS = Date.UTC(2025, 0, 2, 3);

Deno.test("describeEvent() tells the account's daily loss as equity below the day's start", () => {
  const [level, line] = describeEvent({
    type: "RiskTriggered",
    atMs: AT_MS,
    market: "KRW-BTC",
    rule: "account_daily_loss_limit",
    price: "89850",
    dayStartEquity: "100050",
  });
  assert.equal(level, "warn");
  assert.equal(
    line,
    "account daily loss limit reached: equity 89,850 KRW is 10.2% below the day's start " +
      "100,050 KRW; no new entries on any market today",
  );
  assert.doesNotMatch(line, /KRW-BTC/);
});

Deno.test("describeEvent() still tells an account loss event stored without the day's start", () => {
  const [, line] = describeEvent({
    type: "RiskTriggered",
    atMs: AT_MS,
    market: "KRW-ETH",
    rule: "account_daily_loss_limit",
    price: "89850",
  });
  assert.equal(
    line,
    "account daily loss limit reached: equity 89,850 KRW; no new entries on any market today",
  );
});

Deno.test("describeEvent() keeps a market's risk line at its price", () => {
  const [, line] = describeEvent({
    type: "RiskTriggered",
    atMs: AT_MS,
    market: "KRW-BTC",
    rule: "stop_loss",
    price: "140000000",
  });
  assert.match(line, /^risk stop loss KRW-BTC at 140,000,000 KRW$/);
});
