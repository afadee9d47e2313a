/**
 * The trades page and its CSV over the app (and the CSV over a real socket): sign-in required,
 * newest first, pages that add up to every trade, a bad cursor answered 400 naming it, Korean,
 * and a CSV with exact decimal strings, RFC 4180 escaping and an attachment name.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { csvCell, csvLine, TRADES_PER_PAGE } from "../../routes/trades.tsx";
import { fillBatch } from "../engine/_operator_world.ts";
import { T0_MS } from "../engine/_trader_fixtures.ts";
import { type WebWorld, withWorld } from "./_web_world.ts";

/** `n` more BTC buys (1 KRW each), one a second after the seeded ones. */
async function addFills(w: WebWorld, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const at = T0_MS + 300_000 + i * 1000;
    const r = await w.store.applyFills(
      fillBatch("KRW-BTC", "bid", { price: "1000", vol: "0.001", at }),
    );
    assert.ok(r.ok);
  }
}

/** The trade uuids a trades page lists, in order, and its "Older" and "Newer" links. */
function pageOf(
  html: string,
): { uuids: string[]; older: string | undefined; newer: string | undefined } {
  const uuids = [...html.matchAll(/data-trade="([^"]+)"/g)].map((m) => m[1]!);
  const older = /<a href="(\/trades\?cursor=[^"]+)" rel="next"/.exec(html)?.[1];
  const newer = /<a href="(\/trades\?before=[^"]+)" rel="prev"/.exec(html)?.[1];
  return { uuids, older: older?.replace(/&amp;/g, "&"), newer: newer?.replace(/&amp;/g, "&") };
}

/** A minimal RFC 4180 reader: rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

Deno.test("without a session the trades page and the CSV go to /login", async () => {
  await withWorld(async (w) => {
    for (const path of ["/trades", "/trades.csv", "/trades?cursor=x"]) {
      const res = await w.request(path, { redirect: "manual" });
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get("location"), "/login");
    }
  });
});

Deno.test("the trades page lists every trade newest first, page after page", async () => {
  await withWorld(async (w) => {
    await addFills(w, 2 * TRADES_PER_PAGE + 7);
    const cookie = await w.login();
    const expected = [...await w.store.listFills()]
      .sort((a, b) => b.tsMs - a.tsMs)
      .map((f) => f.tradeUuid);
    assert.equal(expected.length, 2 * TRADES_PER_PAGE + 10);
    const seen: string[] = [];
    let path: string | undefined = "/trades";
    let pages = 0;
    while (path !== undefined) {
      const res = await w.request(path, { headers: { cookie } });
      assert.equal(res.status, 200, path);
      const html = await res.text();
      const page = pageOf(html);
      assert.ok(page.uuids.length <= TRADES_PER_PAGE);
      if (pages > 0) assert.match(html, /href="\/trades">Newest</);
      seen.push(...page.uuids);
      path = page.older;
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, expected);
    // Back by "Newer" from the last page: the pages before it, in the same order.
    const first = pageOf(await (await w.request("/trades", { headers: { cookie } })).text());
    assert.equal(first.newer, undefined, "the newest page has no newer one");
    const second = pageOf(await (await w.request(first.older!, { headers: { cookie } })).text());
    const third = pageOf(await (await w.request(second.older!, { headers: { cookie } })).text());
    assert.equal(third.older, undefined);
    const back = pageOf(await (await w.request(third.newer!, { headers: { cookie } })).text());
    assert.deepEqual(back.uuids, second.uuids);
    const top = pageOf(await (await w.request(back.newer!, { headers: { cookie } })).text());
    assert.deepEqual(top.uuids, first.uuids);
    assert.equal(top.newer, undefined);
  });
});

Deno.test("the trades page shows the seeded fills with exact amounts and a sell link", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request("/trades", { headers: { cookie } });
    const html = await res.text();
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.match(html, /aria-current="page">Trades</);
    assert.match(html, /100,000,000/); // the BTC buy's price
    assert.match(html, /0\.002/);
    assert.match(html, /href="\/sell\/KRW-BTC"/);
    assert.ok(!html.includes('href="/sell/KRW-ETH"'), "nothing held on ETH");
    assert.deepEqual(pageOf(html).uuids, [
      `t-KRW-BTC-bid-${T0_MS + 180_000}`,
      `t-KRW-ETH-ask-${T0_MS + 120_000}`,
      `t-KRW-ETH-bid-${T0_MS + 60_000}`,
    ]);
    assert.equal(pageOf(html).older, undefined);
  });
});

Deno.test("the trades page in Korean", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request("/trades", { headers: { cookie: `${cookie}; lang=ko` } });
    const html = await res.text();
    assert.match(html, /<html lang="ko">/);
    assert.match(html, /<h1>체결 내역<\/h1>/);
    assert.match(html, />매수</);
    assert.match(html, />매도</);
    assert.match(html, /CSV 내려받기/);
    assert.match(html, /KRW-BTC 매도/);
    assert.ok(!html.includes(">Buy<"), "no English left in the rows");
  });
});

Deno.test("a cursor the page did not make is 400 naming it", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    for (const cursor of ["nope", "%00", "A".repeat(800), btoa('["a",1,2]')]) {
      for (const name of ["cursor", "before"]) {
        const res = await w.request(`/trades?${name}=${cursor}`, { headers: { cookie } });
        assert.equal(res.status, 400, cursor);
        assert.ok((await res.text()).includes(`${name}: not a page of this list`), name);
      }
    }
  });
});

Deno.test("the CSV streams every trade, exact, with an attachment name, over a real socket", async () => {
  await withWorld(async (w) => {
    await addFills(w, 620); // more than one CSV chunk
    const cookie = await w.login();
    const res = await fetch(`${w.origin}/trades.csv`, { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /^attachment; filename="upbit-trader-trades-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const text = await res.text();
    assert.ok(text.endsWith("\r\n"));
    const rows = parseCsv(text);
    assert.deepEqual(rows[0], [
      "time_utc",
      "ts_ms",
      "market",
      "side",
      "price",
      "volume",
      "funds",
      "fee",
      "order_uuid",
      "trade_uuid",
    ]);
    const fills = [...await w.store.listFills()].sort((a, b) => b.tsMs - a.tsMs);
    assert.equal(rows.length, 1 + fills.length);
    assert.deepEqual(rows.slice(1).map((r) => r[9]), fills.map((f) => f.tradeUuid));
    const btc = rows.find((r) => r[9] === `t-KRW-BTC-bid-${T0_MS + 180_000}`)!;
    assert.deepEqual(btc.slice(2, 8), ["KRW-BTC", "bid", "100000000", "0.002", "200000", "0"]);
    assert.equal(btc[0], new Date(T0_MS + 180_000).toISOString());
    assert.deepEqual(rows[1]!.slice(4, 7), ["1000", "0.001", "1"]);
  }, { serve: true });
});

Deno.test("CSV cells: quoted and doubled as RFC 4180 says; formulas defused", () => {
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell("two\r\nlines"), '"two\r\nlines"');
  assert.equal(csvCell('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
  assert.equal(csvCell("+1"), "'+1");
  assert.equal(csvCell("@SUM(A1)"), "'@SUM(A1)");
  assert.equal(csvCell("-cmd"), "'-cmd");
  assert.equal(csvCell("-12.5"), "-12.5", "a negative number stays a number");
  assert.equal(csvCell("0.00000001"), "0.00000001");
  fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 6 }), (cells) => {
    const line = cells.map(csvCell).join(",") + "\r\n";
    const [row] = parseCsv(line);
    assert.deepEqual(
      row,
      cells.map((c) => /^[=+@\t\r]/.test(c) || /^-(?!\d)/.test(c) ? `'${c}` : c),
    );
  }));
  const line = csvLine({
    market: "KRW-BTC",
    side: "ask",
    price: "12345.5",
    volume: "0.00000001",
    funds: "0.00012345",
    fee: "0.00000006",
    atMs: 0,
    orderUuid: "o,1",
    tradeUuid: 't"1',
  });
  assert.equal(
    line,
    '1970-01-01T00:00:00.000Z,0,KRW-BTC,ask,12345.5,0.00000001,0.00012345,0.00000006,"o,1","t""1"\r\n',
  );
});
