/** `GET /metrics`: Prometheus text from the operator's status, for a session or a bearer token. */

import assert from "node:assert/strict";
import type { BotStatus } from "../../engine/mod.ts";
import { metricsText } from "../../routes/metrics.ts";
import { webWorld } from "./_web_world.ts";

const TOKEN = "scraper-token-0123456789abcdef";

Deno.test("/metrics needs a session or the scraper's token", async () => {
  const w = await webWorld({ metricsToken: TOKEN });
  try {
    assert.equal((await w.request("/metrics")).status, 401);
    for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, TOKEN, "Bearer "]) {
      const res = await w.request("/metrics", { headers: { authorization: auth } });
      assert.equal(res.status, 401, auth);
    }
    const scraped = await w.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(scraped.status, 200);
    assert.equal(scraped.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await scraped.text();
    for (
      const line of [
        "# TYPE upbit_trader_equity_krw gauge",
        'upbit_trader_running{bot="bot",mode="paper"} 0',
        'upbit_trader_paused{bot="bot",mode="paper"} 0',
        'upbit_trader_equity_krw{bot="bot",mode="paper"} 996000',
        'upbit_trader_daily_pnl_krw{bot="bot",mode="paper"} -10000',
        'upbit_trader_open_positions{bot="bot",mode="paper"} 1',
        'upbit_trader_last_price_time_seconds{bot="bot",market="KRW-BTC"} 1795482590',
        'upbit_trader_unrealized_pnl_krw{bot="bot",market="KRW-BTC"} 6000',
      ]
    ) assert.ok(text.split("\n").includes(line), `${line} in:\n${text}`);
    assert.ok(
      !text.includes('last_price_time_seconds{bot="bot",market="KRW-ETH"}'),
      "no sample for a market without a price",
    );
    const cookie = await w.login();
    assert.equal((await w.request("/metrics", { headers: { cookie } })).status, 200);
  } finally {
    await w.close();
  }
});

Deno.test("/metrics without a configured token takes no bearer at all", async () => {
  const w = await webWorld();
  try {
    const res = await w.request("/metrics", { headers: { authorization: "Bearer anything" } });
    assert.equal(res.status, 401);
  } finally {
    await w.close();
  }
});

Deno.test("metricsText() escapes label values", () => {
  const text = metricsText({
    botId: 'a"b\\c\nd',
    mode: "demo",
    running: true,
    paused: false,
    safeMode: false,
    halted: false,
    markets: [],
    account: { equity: null, dailyPnl: "0", openPositions: 0, openOrders: 0 },
  } as unknown as BotStatus);
  assert.ok(text.includes('upbit_trader_running{bot="a\\"b\\\\c\\nd",mode="demo"} 1'), text);
  assert.ok(!text.includes("upbit_trader_equity_krw{"), "no sample for an unknown equity");
});
