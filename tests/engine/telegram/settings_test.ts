import assert from "node:assert/strict";
import { DEFAULT_NOTIFY, parseTelegramEnv } from "../../../engine/telegram/mod.ts";

const TOKEN = "123456789:AAH-abcdefghijklmnopqrstuvwxyz_0123";
const SECRET = "A".repeat(43);
const GOOD = {
  TELEGRAM_BOT_TOKEN: TOKEN,
  TELEGRAM_OWNER_ID: "111222333",
  TELEGRAM_WEBHOOK_SECRET: SECRET,
};

Deno.test("parseTelegramEnv(): off without TELEGRAM_* variables; a full webhook and a polling setup", () => {
  assert.deepEqual(parseTelegramEnv({}), { ok: true, value: null });
  assert.deepEqual(parseTelegramEnv({ TELEGRAM_MODE: " ", OTHER: "x" }), { ok: true, value: null });
  const webhook = parseTelegramEnv(GOOD);
  assert.ok(webhook.ok && webhook.value !== null);
  assert.equal(webhook.value.mode, "webhook");
  assert.equal(webhook.value.webhookSecret?.reveal(), SECRET);
  assert.equal(webhook.value.bot.token.reveal(), TOKEN);
  assert.equal(webhook.value.bot.ownerId, 111222333);
  assert.deepEqual(webhook.value.bot.viewerIds, []);
  assert.equal(webhook.value.bot.apiRoot, "https://api.telegram.org");
  assert.equal(webhook.value.bot.language, "en");
  assert.ok(!JSON.stringify(webhook).includes(TOKEN) && !JSON.stringify(webhook).includes(SECRET));
  const polling = parseTelegramEnv({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_OWNER_ID: "42",
    TELEGRAM_MODE: "polling",
    TELEGRAM_VIEWER_IDS: "7, 8",
    TELEGRAM_API_ROOT: "http://127.0.0.1:8081",
    TELEGRAM_LANGUAGE: "ko",
  });
  assert.ok(polling.ok && polling.value !== null);
  assert.equal(polling.value.mode, "polling");
  assert.equal(polling.value.webhookSecret, undefined);
  assert.deepEqual(polling.value.bot.viewerIds, [7, 8]);
  assert.equal(polling.value.bot.apiRoot, "http://127.0.0.1:8081");
  assert.equal(polling.value.bot.language, "ko");
});

Deno.test("parseTelegramEnv(): each mistake is one line naming the variable", () => {
  const cases: [Record<string, string>, string][] = [
    [{ TELEGRAM_OWNER_ID: "42" }, "TELEGRAM_BOT_TOKEN: must be set when Telegram is configured"],
    [
      { ...GOOD, TELEGRAM_BOT_TOKEN: "nope" },
      "TELEGRAM_BOT_TOKEN: expected the token from BotFather (<digits>:<secret>)",
    ],
    [
      { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_SECRET: SECRET },
      "TELEGRAM_OWNER_ID: must be set when Telegram is configured",
    ],
    [{ ...GOOD, TELEGRAM_OWNER_ID: "-5" }, "TELEGRAM_OWNER_ID: expected a user id (digits)"],
    [{ ...GOOD, TELEGRAM_OWNER_ID: "@me" }, "TELEGRAM_OWNER_ID: expected a user id (digits)"],
    [
      { ...GOOD, TELEGRAM_VIEWER_IDS: "7,x" },
      'TELEGRAM_VIEWER_IDS: expected user ids separated by commas: "x"',
    ],
    [
      { ...GOOD, TELEGRAM_VIEWER_IDS: "111222333" },
      "TELEGRAM_VIEWER_IDS: must not name the owner (TELEGRAM_OWNER_ID)",
    ],
    [{ ...GOOD, TELEGRAM_MODE: "push" }, "TELEGRAM_MODE: expected webhook or polling"],
    [
      { ...GOOD, TELEGRAM_WEBHOOK_SECRET: "short" },
      "TELEGRAM_WEBHOOK_SECRET: expected 32-256 characters of A-Z a-z 0-9 _ -",
    ],
    [
      { ...GOOD, TELEGRAM_WEBHOOK_SECRET: `${"a".repeat(40)}!` },
      "TELEGRAM_WEBHOOK_SECRET: expected 32-256 characters of A-Z a-z 0-9 _ -",
    ],
    [
      { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_OWNER_ID: "42" },
      "TELEGRAM_WEBHOOK_SECRET: must be set in webhook mode (or set TELEGRAM_MODE=polling)",
    ],
    [
      { ...GOOD, TELEGRAM_API_ROOT: "https://api.telegram.org/" },
      "TELEGRAM_API_ROOT: expected an http(s) URL without a trailing /",
    ],
    [
      { ...GOOD, TELEGRAM_API_ROOT: "ftp://x" },
      "TELEGRAM_API_ROOT: expected an http(s) URL without a trailing /",
    ],
    [{ ...GOOD, TELEGRAM_LANGUAGE: "jp" }, "TELEGRAM_LANGUAGE: expected en or ko"],
  ];
  for (const [env, expected] of cases) {
    const result = parseTelegramEnv(env);
    assert.ok(!result.ok, expected);
    assert.equal(result.error, expected);
    assert.ok(
      !result.error.includes(TOKEN) && !result.error.includes(SECRET),
      "no secret in the line",
    );
  }
});

Deno.test("TELEGRAM_NOTIFY: type:on|silent|off pairs over the defaults, `all` first; a mistake is one line", () => {
  const defaults = parseTelegramEnv(GOOD);
  assert.ok(defaults.ok && defaults.value !== null);
  assert.deepEqual(defaults.value.notify, DEFAULT_NOTIFY);
  const set = parseTelegramEnv({
    ...GOOD,
    TELEGRAM_NOTIFY: " all:off, fill:on ,Signal:SILENT,stop_loss:on",
  });
  assert.ok(set.ok && set.value !== null);
  assert.equal(set.value.notify.fill, "on");
  assert.equal(set.value.notify.signal, "silent");
  assert.equal(set.value.notify.stop_loss, "on");
  assert.equal(set.value.notify.order, "off");
  assert.equal(set.value.notify.start, "off");
  for (
    const [value, error] of [
      ["fils:on", 'TELEGRAM_NOTIFY: unknown type "fils" (expected all, signal, order, fill,'],
      ["fill:loud", 'TELEGRAM_NOTIFY: fill: expected on, silent or off, got "loud"'],
      ["fill", 'TELEGRAM_NOTIFY: expected type:on|silent|off, got "fill"'],
      ["fill:on:x", 'TELEGRAM_NOTIFY: expected type:on|silent|off, got "fill:on:x"'],
    ] as const
  ) {
    const bad = parseTelegramEnv({ ...GOOD, TELEGRAM_NOTIFY: value });
    assert.ok(!bad.ok, value);
    assert.ok(bad.error.startsWith(error), `${value}: ${bad.error}`);
    assert.ok(!bad.error.includes("\n"), "one line");
  }
});
