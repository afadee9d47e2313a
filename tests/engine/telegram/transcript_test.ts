/**
 * The README's Telegram transcript is a real exchange: this test has the owner of a running
 * paper bot send commands over real HTTP to the webhook, writes what the bot sent back to the
 * fake Bot API (messages, buttons, button answers, edits) as a chat transcript, and checks that
 * README.md shows exactly that between its transcript markers. `UPDATE_TRANSCRIPT=1` rewrites
 * the README's block instead (then review the diff).
 */

import assert from "node:assert/strict";
import { message, OWNER, STRANGER, tap, type TgWorld, withWorld } from "./_harness.ts";

const START = "<!-- telegram-transcript:start -->";
const END = "<!-- telegram-transcript:end -->";
const README = new URL("../../../README.md", import.meta.url);

/** `text` indented under a speaker's name. */
function said(who: string, text: string): string[] {
  const [first, ...rest] = text.split("\n");
  return [`${who.padEnd(6)}${first}`, ...rest.map((line) => `      ${line}`)];
}

/** What the bot did at the fake Bot API since call number `from`, as transcript lines. */
function botLines(t: TgWorld, from: number): string[] {
  const out: string[] = [];
  for (const call of t.fake.calls.slice(from)) {
    const p = call.params as {
      text?: string;
      reply_markup?: { inline_keyboard?: { text: string }[][] };
    };
    const method = call.method.toLowerCase();
    if (method === "sendmessage") {
      out.push(...said("bot", p.text ?? ""));
      const buttons = p.reply_markup?.inline_keyboard?.flat().map((b) => `[ ${b.text} ]`);
      if (buttons !== undefined && buttons.length > 0) out.push(`      ${buttons.join(" ")}`);
    } else if (method === "answercallbackquery") {
      out.push(...said("bot", `(pop-up) ${p.text ?? ""}`));
    } else if (method === "editmessagetext") {
      out.push(...said("bot", `(replaces the question)\n${p.text ?? ""}`));
    }
  }
  return out;
}

/** The conversation, as lines. */
async function converse(t: TgWorld): Promise<string[]> {
  const lines: string[] = [];
  async function say(text: string): Promise<void> {
    const from = t.fake.calls.length;
    t.w.clock.set(t.w.clock.nowMs() + 20_000);
    assert.equal(await t.post(message(t, text)), 200);
    lines.push(...said("you", text), ...botLines(t, from), "");
  }
  async function confirm(): Promise<void> {
    const from = t.fake.calls.length;
    const asked = [...t.fake.messages.values()].filter((m) => m.reply_markup !== null).at(-1)!;
    const markup = asked.reply_markup as { inline_keyboard: { callback_data: string }[][] };
    const data = markup.inline_keyboard[0]![0]!.callback_data;
    t.w.clock.set(t.w.clock.nowMs() + 5_000);
    assert.equal(await t.post(tap(t, data, { messageId: asked.message_id })), 200);
    lines.push(...said("you", "(taps Confirm)"), ...botLines(t, from), "");
  }
  await say("/status");
  await say("/sell btc");
  await confirm();
  await say("/profit");
  await say("/pause lunch break");
  await say("/set stop-loss 4");
  await say("/resume");
  await say("/stop");
  await confirm();
  const from = t.fake.calls.length;
  assert.equal(await t.post(message(t, "/stop", { from: STRANGER })), 200);
  assert.equal(t.fake.calls.length, from, "a stranger gets no answer");
  lines.push(
    ...said("other", "/stop   (someone else, in their own chat with the bot)"),
    "      (no answer)",
    "",
  );
  await say("/logs 3");
  return lines;
}

Deno.test("README: the Telegram transcript is what the bot answers over real HTTP", async () => {
  await withWorld(async (t) => {
    t.appLog.info("upbit: market data connected (KRW-BTC, KRW-ETH)");
    const lines = await converse(t);
    const transcript = [START, "```text", ...lines.slice(0, -1), "```", END].join("\n");
    assert.ok(t.fake.callsOf("sendMessage").every((c) => Number(c.params.chat_id) === OWNER));
    const readme = await Deno.readTextFile(README);
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    assert.ok(start >= 0 && end > start, `README.md has no ${START} … ${END} block`);
    const current = readme.slice(start, end + END.length);
    if (Deno.env.get("UPDATE_TRANSCRIPT") === "1") {
      await Deno.writeTextFile(README, readme.replace(current, transcript));
      return;
    }
    assert.equal(
      current,
      transcript,
      "README.md's Telegram transcript is out of date: run this test with UPDATE_TRANSCRIPT=1",
    );
  }, { running: true });
});
