/** `/report [date]` through real HTTP against the fake Bot API. */

import assert from "node:assert/strict";
import { messagesOf } from "../../../engine/telegram/messages.ts";
import { reportText } from "../../../engine/telegram/render.ts";
import { message, OWNER, type TgWorld, VIEWER, withWorld } from "./_harness.ts";

async function reply(t: TgWorld, text: string, from = OWNER): Promise<string> {
  const before = t.fake.sentTexts().length;
  assert.equal(await t.post(message(t, text, { from })), 200);
  const sent = t.fake.sentTexts().slice(before);
  assert.equal(sent.length, 1, `one reply to ${text}: ${JSON.stringify(sent)}`);
  return sent[0]!;
}

Deno.test("Telegram: /report [date] sends the day's report; a bad date gets the usage", async () => {
  await withWorld(async (t) => {
    const today = await reply(t, "/report 2026-11-24", VIEWER);
    const report = await t.operator.dailyReport("2026-11-24");
    assert.equal(today, reportText(report, messagesOf("en")));
    assert.match(today, /^Daily report 2026-11-24 \(09:00 KST to 09:00 KST\) \(so far\)\n/);
    assert.match(today, new RegExp(`\\n${report.account.fills} fills? · exits: `));
    // All the store's activity is today's: no date means today so far (not an empty 11-23).
    assert.equal(await reply(t, "/report"), today);
    const usage =
      "Usage: /report [YYYY-MM-DD] (default: the last complete day, else the latest active one)";
    assert.equal(await reply(t, "/report 2026-13-01"), usage);
    assert.equal(await reply(t, "/report 2026-11-24 extra"), usage);
  });
  await withWorld(async (t) => {
    assert.match(await reply(t, "/report 2026-11-24"), /^2026-11-24 일일 보고서 /);
  }, { language: "ko" });
});

Deno.test("/report with no date: the last complete day with activity, else the newest active one, on the bot's clock", async () => {
  await withWorld(async (t) => {
    const DAY_MS = 86_400_000;
    // A day later (the bot's clock; the demo's runs ahead of the wall): 11-24 is complete.
    t.w.clock.set(t.w.clock.nowMs() + DAY_MS);
    await t.operator.execute("ctl", { kind: "pause", reason: "activity today" });
    assert.match(
      await reply(t, "/report"),
      /^Daily report 2026-11-24 \(09:00 KST to 09:00 KST\)\n/,
    );
    // Three days later with nothing since: the newest day that had any (today's pause).
    t.w.clock.set(t.w.clock.nowMs() + 3 * DAY_MS);
    assert.match(await reply(t, "/report"), /^Daily report 2026-11-25 /);
  });
});
