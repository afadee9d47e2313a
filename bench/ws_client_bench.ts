/**
 * WebSocket client figures: frames decoded and validated per second on one core (real-shaped
 * frames captured from the sandbox, fed in-process through `decodeFrame`), and the process RSS
 * while the market stream is subscribed to every KRW market of the sandbox with all four types.
 *
 * The RSS run starts the sandbox CLI and the client in two child processes, so the figure is the
 * client's alone. Run alone: `deno run -A bench/ws_client_bench.ts [--json]`.
 */

import { UpbitRestClient } from "../engine/adapters/upbit/rest_client.ts";
import { backfillMinuteCandles } from "../engine/adapters/upbit/rest_client.ts";
import { createMarketStream, type MarketEvent } from "../engine/adapters/upbit/ws_client.ts";
import { decodeFrame } from "../engine/adapters/upbit/ws_messages.ts";
import { createSandbox } from "../engine/sandbox/mod.ts";

/** Bench results. */
export interface WsClientBench {
  /** Frames decoded + validated per second on one core (mix as captured). */
  readonly decodePerSec: number;
  /** The same per frame type. */
  readonly decodePerSecByType: Readonly<Record<string, number>>;
  /** Frames in the captured mix. */
  readonly capturedFrames: number;
  /** Markets subscribed in the RSS run. */
  readonly markets: number;
  /** Process RSS (MB) before starting the stream and while subscribed. */
  readonly rssBeforeMb: number;
  readonly rssSubscribedMb: number;
  /** Events the stream delivered during the RSS run, and final candles among them. */
  readonly events: number;
  readonly finalCandles: number;
  /** Peak frames/s the subscribed stream received (sandbox at speed 60). */
  readonly streamMessagesPerSec: number;
}

const MINUTE = 60_000;

async function captureFrames(): Promise<{ frames: ArrayBuffer[]; types: string[] }> {
  const sb = await createSandbox({
    port: 0,
    manualClock: true,
    rateLimits: false,
    startAt: "2025-01-20T00:00:00Z",
  });
  const frames: ArrayBuffer[] = [];
  const ws = new WebSocket(sb.wsUrl);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e) => {
    if (e.data instanceof ArrayBuffer) frames.push(e.data);
  };
  await new Promise((r) => ws.onopen = r);
  const codes = sb.replay.markets;
  ws.send(JSON.stringify([
    { ticket: "bench" },
    { type: "ticker", codes },
    { type: "trade", codes },
    { type: "orderbook", codes: codes.map((c) => `${c}.15`) },
    { type: "candle.1m", codes },
  ]));
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 20; i++) {
    sb.replay.advanceBy(MINUTE);
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 200));
  ws.close();
  await new Promise((r) => ws.onclose = r);
  await sb.close();
  const dec = new TextDecoder();
  const types = frames.map((f) => (JSON.parse(dec.decode(f)) as { type: string }).type);
  return { frames, types };
}

function decodeRate(frames: readonly ArrayBuffer[], minMs: number): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (const f of frames) {
      const r = decodeFrame(f);
      if (!r.ok) throw new Error(`bench frame rejected: ${r.error.reason} ${r.error.detail}`);
    }
    n += frames.length;
    elapsed = performance.now() - start;
  }
  return n / (elapsed / 1000);
}

interface RssResult {
  markets: number;
  before: number;
  during: number;
  events: number;
  candles: number;
  messagesPerSec: number;
}

/** The client side of the RSS run (in a child process, so the sandbox's memory is not counted). */
async function rssChild(wsUrl: string, restUrl: string, seconds: number): Promise<RssResult> {
  const rest = new UpbitRestClient({ restUrl });
  const res = await fetch(`${restUrl}/v1/market/all`);
  const markets = (await res.json() as Array<{ market: string }>).map((m) => m.market)
    .filter((m) => m.startsWith("KRW-"));
  const before = Deno.memoryUsage().rss;
  const stream = createMarketStream({
    url: wsUrl,
    markets,
    history: (market, range) => backfillMinuteCandles(rest, market, range),
  });
  let events = 0;
  let candles = 0;
  const reading = (async () => {
    for await (const e of stream.events() as AsyncIterable<MarketEvent>) {
      events++;
      if (e.kind === "candle") candles++;
    }
  })();
  let during = before;
  let rate = 0;
  for (let i = 0; i < seconds * 10; i++) {
    await new Promise((r) => setTimeout(r, 100));
    during = Math.max(during, Deno.memoryUsage().rss);
    rate = Math.max(rate, stream.status().messagesPerSec);
  }
  await stream.close();
  await reading;
  return { markets: markets.length, before, during, events, candles, messagesPerSec: rate };
}

/**
 * Starts the sandbox CLI (default start: today's time of day, so its clock matches `Date.now`;
 * speed 60: a data minute per real second) and the client child.
 */
async function rssRun(seconds: number): Promise<RssResult> {
  const root = new URL("../", import.meta.url);
  const sandbox = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "engine/sandbox/cli.ts",
      "--port",
      "0",
      "--speed",
      "60",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = sandbox.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  while (!/ws=\S+\s/.test(banner)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("sandbox exited before listening");
    banner += value;
  }
  const restUrl = /rest=(\S+)/.exec(banner)![1]!;
  const wsUrl = /ws=(\S+)/.exec(banner)![1]!;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "bench/ws_client_bench.ts", "--rss-child", wsUrl, restUrl, `${seconds}`],
      cwd: root,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    return JSON.parse(new TextDecoder().decode(out.stdout)) as RssResult;
  } finally {
    reader.releaseLock();
    sandbox.kill();
    await sandbox.status;
    await sandbox.stdout.cancel().catch(() => {});
  }
}

/** Runs both measurements. */
export async function benchWsClient(): Promise<WsClientBench> {
  const { frames, types } = await captureFrames();
  decodeRate(frames, 300); // warm-up (JIT)
  const decodePerSec = decodeRate(frames, 1500);
  const byType: Record<string, number> = {};
  for (const t of new Set(types)) {
    byType[t] = Math.round(decodeRate(frames.filter((_, i) => types[i] === t), 400));
  }
  const rss = await rssRun(10);
  const mb = (b: number) => Math.round(b / 1048576 * 10) / 10;
  return {
    decodePerSec: Math.round(decodePerSec),
    decodePerSecByType: byType,
    capturedFrames: frames.length,
    markets: rss.markets,
    rssBeforeMb: mb(rss.before),
    rssSubscribedMb: mb(rss.during),
    events: rss.events,
    finalCandles: rss.candles,
    streamMessagesPerSec: Math.round(rss.messagesPerSec),
  };
}

if (import.meta.main && Deno.args[0] === "--rss-child") {
  const [, wsUrl = "", restUrl = "", seconds = "10"] = Deno.args;
  const r = await rssChild(wsUrl, restUrl, Number(seconds));
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r) + "\n"));
} else if (import.meta.main) {
  const r = await benchWsClient();
  if (Deno.args.includes("--json")) {
    Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r) + "\n"));
  } else {
    const lines = [
      `ws client: ${r.decodePerSec.toLocaleString("en")} frames/s decoded + validated on one core` +
      ` (${r.capturedFrames} captured frames)`,
      ...Object.entries(r.decodePerSecByType).map(([t, n]) =>
        `  ${t.padEnd(10)} ${n.toLocaleString("en")} /s`
      ),
      `ws client: RSS ${r.rssBeforeMb} MB before → ${r.rssSubscribedMb} MB subscribed to ${r.markets}` +
      ` KRW markets × 4 types (client process only; ${r.events} events, ${r.finalCandles} final` +
      ` candles, peak ${r.streamMessagesPerSec} frames/s)`,
    ];
    Deno.stdout.writeSync(new TextEncoder().encode(lines.join("\n") + "\n"));
  }
}
