/**
 * The survival run shared by the test (CI sizes) and the bench (full sizes): starts the target
 * (`_server.ts sandbox|web`) in its own process, then runs each attack over real sockets while a
 * legitimate client probes it every 50 ms on a fresh connection (the sandbox: a signed
 * `GET /v1/accounts` of the very key the forged tokens name; the page: `GET /healthz`), and
 * samples the target's RSS from `/proc/<pid>/status`.
 */

import { DEMO_ACCESS_KEY, DEMO_SECRET_KEY } from "../../../engine/sandbox/mod.ts";
import { signToken } from "../sandbox/_sign.ts";

/** How hard each attack is. */
export interface SurvivalSizes {
  /** Bytes of each oversized body (half declared by Content-Length, half chunked). */
  readonly bodyBytes: number;
  readonly bodies: number;
  /** Connections that send a request head one line per second. */
  readonly slowConnections: number;
  /** How long they are held (ms) before the run checks they were closed. */
  readonly slowHoldMs: number;
  /** Requests, each with its own `X-Forwarded-For`. */
  readonly forwarded: number;
  /** Requests with forged credentials (the sandbox: the victim's access key, a wrong secret). */
  readonly forgedTokens: number;
  /** WebSocket connects, spread over `wsSeconds`. */
  readonly wsConnects: number;
  readonly wsSeconds: number;
  /** WebSocket messages of `wsFrameBytes` each (sandbox only). */
  readonly wsFrames: number;
  readonly wsFrameBytes: number;
}

/** The sizes (the bench). */
export const FULL_SIZES: SurvivalSizes = {
  bodyBytes: 200 * 1024 * 1024,
  bodies: 10,
  slowConnections: 2_000,
  slowHoldMs: 12_000,
  forwarded: 50_000,
  forgedTokens: 10_000,
  wsConnects: 1_000,
  wsSeconds: 10,
  wsFrames: 5,
  wsFrameBytes: 40 * 1024 * 1024,
};

/** What one attack did to the target. */
export interface AttackFigures {
  readonly attack: string;
  /** The target's highest RSS during the attack. */
  readonly rssMaxMb: number;
  /** Legitimate answers' times (ms). */
  readonly legitMs: readonly number[];
  /** Legitimate requests that failed or got a non-2xx answer. */
  readonly legitFailures: number;
  /** What the attacker saw (status → count, or counts of closed sockets). */
  readonly seen: Readonly<Record<string, number>>;
}

/** A whole run. */
export interface SurvivalFigures {
  readonly target: "sandbox" | "web";
  readonly rssStartMb: number;
  readonly rssEndMb: number;
  readonly attacks: readonly AttackFigures[];
}

/** The `p`-th percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Runs every attack against a fresh `target` process. */
export async function survive(
  target: "sandbox" | "web",
  sizes: SurvivalSizes,
  limits: Readonly<Record<string, number>> = {},
): Promise<SurvivalFigures> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./_server.ts", import.meta.url).pathname,
      target,
      JSON.stringify(limits),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the ${target} process ended before it listened`);
    line += value;
  }
  const url = new URL((JSON.parse(line.split("\n")[0]!) as { url: string }).url);
  const rss = () => rssMb(child.pid);
  // A fresh connection per probe: the honest measure under a connection cap.
  const probeClient = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const probe = target === "sandbox" ? sandboxProbe(url, probeClient) : webProbe(url, probeClient);
  const attacks: AttackFigures[] = [];
  try {
    for (let i = 0; i < 20; i++) await probe(); // Warm-up (both sides' JIT), then the baseline.
    // The warm-up's burst spends most of a second's budget (the sandbox's 30 calls/s per account,
    // fixed windows): the first attack's probes start in a fresh window.
    await new Promise((r) => setTimeout(r, 1_100));
    const rssStartMb = rss();
    const run = async (attack: string, body: () => Promise<Record<string, number>>) => {
      attacks.push(await during(attack, rss, probe, body));
    };
    const path = target === "sandbox" ? "/v1/orders" : "/login";
    await run("bodies", () => bigBodies(url, path, sizes));
    await run("slow connections", () => slowConnections(url, sizes, limits.headTimeoutMs));
    await run(
      "forwarded addresses",
      () => forwarded(url, target === "sandbox" ? "/v1/ticker?markets=KRW-BTC" : "/login", sizes),
    );
    await run("forged tokens", () => forgedTokens(url, target, sizes));
    await run("websocket connects", () => wsConnects(url, target, sizes));
    if (target === "sandbox") await run("websocket frames", () => wsFrames(url, sizes));
    await new Promise((r) => setTimeout(r, 500));
    return { target, rssStartMb, rssEndMb: rss(), attacks };
  } finally {
    probeClient.close();
    await reader.cancel().catch(() => {});
    child.kill("SIGKILL");
    await child.status;
  }
}

/** One legitimate request: its answer time (ms, the request only), or undefined if not 2xx. */
type Probe = () => Promise<number | undefined>;

/** Runs `body` while probing and sampling RSS. */
async function during(
  attack: string,
  rss: () => number,
  probe: Probe,
  body: () => Promise<Record<string, number>>,
): Promise<AttackFigures> {
  let running = true;
  let rssMaxMb = rss();
  const legitMs: number[] = [];
  let legitFailures = 0;
  const seenLegit: Record<string, number> = {};
  const sampler = (async () => {
    while (running) {
      rssMaxMb = Math.max(rssMaxMb, rss());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const note = (what: string, e: unknown) => {
    const key = `${what}: ${e instanceof Error ? e.cause ?? e.message : e}`.slice(0, 200);
    seenLegit[key] = (seenLegit[key] ?? 0) + 1;
  };
  const prober = (async () => {
    while (running) {
      // Like any HTTP client, the legitimate one retries once on a connection-level failure
      // (counted in `seen` as "legit retried").
      let ms = await probe().catch((e) => {
        note("legit retried", e);
        return NaN;
      });
      if (Number.isNaN(ms)) {
        ms = await probe().catch((e) => {
          note("legit failed", e);
          return undefined;
        });
      }
      if (ms === undefined) legitFailures++;
      else legitMs.push(ms);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const seen = await body();
  running = false;
  await Promise.all([sampler, prober]);
  return {
    attack,
    rssMaxMb: Math.max(rssMaxMb, rss()),
    legitMs,
    legitFailures,
    seen: { ...seen, ...seenLegit },
  };
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

function sandboxProbe(url: URL, client: Deno.HttpClient): Probe {
  const key = { accessKey: DEMO_ACCESS_KEY, secretKey: DEMO_SECRET_KEY };
  return async () => {
    const authorization = `Bearer ${await signToken(key)}`; // The client's own work: not timed.
    const t0 = performance.now();
    const res = await fetch(new URL("/v1/accounts", url), {
      client,
      headers: { authorization },
      signal: AbortSignal.timeout(5_000),
    });
    await res.body?.cancel();
    return res.status === 200 ? performance.now() - t0 : undefined;
  };
}

function webProbe(url: URL, client: Deno.HttpClient): Probe {
  return async () => {
    const t0 = performance.now();
    const res = await fetch(new URL("/healthz", url), {
      client,
      signal: AbortSignal.timeout(5_000),
    });
    await res.body?.cancel();
    return res.status === 200 ? performance.now() - t0 : undefined;
  };
}

function count(seen: Record<string, number>, what: string): void {
  seen[what] = (seen[what] ?? 0) + 1;
}

async function connect(url: URL): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
}

/** The status of the first answer on `conn`, "closed" (by the server), or "timeout" after `ms`. */
async function readStatus(conn: Deno.Conn, ms: number): Promise<string> {
  const buf = new Uint8Array(512);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, ms);
  try {
    const n = await conn.read(buf);
    if (n === null) return timedOut ? "timeout" : "closed";
    return /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(buf.subarray(0, n)))?.[1] ??
      "garbage";
  } catch {
    return timedOut ? "timeout" : "closed";
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** Oversized unauthenticated-in-effect POSTs (a forged bearer token), two at a time. */
async function bigBodies(
  url: URL,
  path: string,
  sizes: SurvivalSizes,
): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  const one = async (i: number) => {
    const chunked = i % 2 === 1;
    const conn = await connect(url);
    const head = `POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\n` +
      "authorization: Bearer forged.token.value\r\ncontent-type: application/json\r\n" +
      (chunked ? "transfer-encoding: chunked\r\n" : `content-length: ${sizes.bodyBytes}\r\n`) +
      "\r\n";
    const status = readStatus(conn, 10_000);
    let sent = 0;
    try {
      await writeAll(conn, new TextEncoder().encode(head));
      const frame = chunked
        ? concat(new TextEncoder().encode(`${chunk.length.toString(16)}\r\n`), chunk, CRLF)
        : chunk;
      while (sent < sizes.bodyBytes) {
        await writeAll(conn, frame);
        sent += chunk.length;
      }
    } catch {
      // The server closed the connection: the point.
    }
    const answer = await status;
    count(seen, answer);
    count(seen, sent >= sizes.bodyBytes ? "body fully sent" : "cut off early");
    closeQuietly(conn);
  };
  for (let i = 0; i < sizes.bodies; i += 2) {
    await Promise.all([one(i), ...(i + 1 < sizes.bodies ? [one(i + 1)] : [])]);
  }
  return seen;
}

const CRLF = new Uint8Array([13, 10]);

/** Connections that trickle a request head, one header line per second. */
async function slowConnections(
  url: URL,
  sizes: SurvivalSizes,
  headTimeoutMs = 10_000,
): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const conns: Deno.TcpConn[] = [];
  const ends: Promise<readonly [string, number]>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < sizes.slowConnections; i += 100) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(100, sizes.slowConnections - i) }, () => connect(url)),
    );
    for (const r of batch) {
      if (r.status === "rejected") {
        count(seen, "connect refused");
        continue;
      }
      const conn = r.value;
      conns.push(conn);
      const waitMs = sizes.slowHoldMs + headTimeoutMs + 10_000;
      ends.push(readStatus(conn, waitMs).then((how) => [how, Date.now() - t0] as const));
      writeAll(conn, new TextEncoder().encode(`GET / HTTP/1.1\r\nhost: ${url.host}\r\n`))
        .catch(() => {});
    }
  }
  let line = 0;
  while (Date.now() - t0 < sizes.slowHoldMs) {
    await new Promise((r) => setTimeout(r, 1000));
    const text = new TextEncoder().encode(`x-slow-${line++}: 1\r\n`);
    await Promise.all(conns.map((c) => writeAll(c, text).catch(() => {})));
  }
  const outcomes = await Promise.all(ends);
  seen["connections opened"] = conns.length;
  for (const [how] of outcomes) count(seen, how === "timeout" ? "still open" : `server: ${how}`);
  seen["last closed after ms"] = Math.max(...outcomes.map(([, ms]) => ms));
  for (const c of conns) closeQuietly(c);
  return seen;
}

/** Requests that each claim another client address. */
function forwarded(
  url: URL,
  path: string,
  sizes: SurvivalSizes,
): Promise<Record<string, number>> {
  return statusCounts(sizes.forwarded, (i, client) => {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    return fetch(new URL(path, url), {
      client,
      method: path === "/login" ? "POST" : "GET",
      headers: {
        "x-forwarded-for": ip,
        ...(path === "/login"
          ? { "content-type": "application/x-www-form-urlencoded", origin: url.origin }
          : {}),
      },
      ...(path === "/login" ? { body: "password=wrong" } : {}),
      redirect: "manual",
    });
  });
}

/** Requests with forged credentials: the victim's access key signed with a wrong secret. */
function forgedTokens(
  url: URL,
  target: "sandbox" | "web",
  sizes: SurvivalSizes,
): Promise<Record<string, number>> {
  const forgedKey = { accessKey: DEMO_ACCESS_KEY, secretKey: "not-the-secret-key" };
  return statusCounts(sizes.forgedTokens, async (_i, client) => {
    const headers: Record<string, string> = target === "sandbox"
      ? { authorization: `Bearer ${await signToken(forgedKey)}` }
      : { cookie: `sid=${forgedSessionId()}` };
    return await fetch(new URL(target === "sandbox" ? "/v1/accounts" : "/api/status", url), {
      client,
      headers,
      redirect: "manual",
    });
  });
}

/**
 * `total` requests, 32 at a time over one HTTP client, counted by the answer's status ("failed":
 * no answer).
 */
async function statusCounts(
  total: number,
  request: (i: number, client: Deno.HttpClient) => Promise<Response>,
): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const client = Deno.createHttpClient({});
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const res = await request(next++, client).catch(() => undefined);
      await res?.body?.cancel();
      count(seen, String(res?.status ?? "failed"));
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  client.close();
  return seen;
}

/** A well-formed session id (256 random bits, base64url): it is looked up in the store. */
function forgedSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** WebSocket connects spread evenly over `wsSeconds`, each held until the end. */
async function wsConnects(
  url: URL,
  target: "sandbox" | "web",
  sizes: SurvivalSizes,
): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const wsUrl = `ws://${url.host}${target === "sandbox" ? "/websocket/v1" : "/api/events"}`;
  const sockets: WebSocket[] = [];
  const settled: Promise<void>[] = [];
  const gapMs = (sizes.wsSeconds * 1000) / sizes.wsConnects;
  const t0 = performance.now();
  for (let i = 0; i < sizes.wsConnects; i++) {
    const wait = t0 + i * gapMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const ws = new WebSocket(wsUrl);
    sockets.push(ws);
    settled.push(
      new Promise<void>((resolve) => {
        ws.onopen = () => {
          count(seen, "opened");
          ws.send(JSON.stringify([{ ticket: `t${i}` }, { type: "ticker", codes: ["KRW-BTC"] }]));
          resolve();
        };
        ws.onerror = () => {
          count(seen, "refused");
          resolve();
        };
      }),
    );
  }
  await Promise.all(settled);
  const closed = sockets.map((ws) =>
    ws.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise<void>((resolve) => {
      ws.onclose = () => resolve();
      ws.close();
    })
  );
  await Promise.all(closed);
  return seen;
}

/** Oversized WebSocket messages on an open sandbox socket. */
async function wsFrames(url: URL, sizes: SurvivalSizes): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const big = new Uint8Array(sizes.wsFrameBytes).fill(0x20);
  for (let i = 0; i < sizes.wsFrames; i++) {
    // One connect per 300 ms keeps within the sandbox's 5 connects/s.
    await new Promise((r) => setTimeout(r, 300));
    const ws = new WebSocket(`ws://${url.host}/websocket/v1`);
    ws.binaryType = "arraybuffer";
    await new Promise<void>((resolve) => {
      ws.onerror = () => {
        count(seen, "refused");
        resolve();
      };
      ws.onopen = () => ws.send(big);
      ws.onmessage = (e) => {
        const text = new TextDecoder().decode(e.data as ArrayBuffer);
        count(seen, JSON.parse(text)?.error?.name ?? "data");
      };
      ws.onclose = (e) => {
        count(seen, `close ${e.code}`);
        resolve();
      };
    });
  }
  return seen;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
