/**
 * The probes of `deno task preflight` (`engine/preflight_port.ts`) over the real things: Upbit's
 * REST API with the keys (through `UpbitRestClient`, whose fetch is wrapped to time each answer
 * against its `Date` header), Telegram's `getMe` (grammY), the store's meta record (Deno KV) and
 * the file system's free space (`statfs`, which needs `--allow-sys=statfs`).
 *
 * Nothing here writes or trades: the order probe is `POST /v1/orders/test` (Upbit validates
 * and creates nothing), the withdrawal probe is the read `GET /v1/withdraws/chance`.
 */

import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { Api } from "grammy/web";
import { z } from "zod";
import type { Units } from "../core/money.ts";
import { err, ok } from "../core/result.ts";
import { EngineError } from "../errors.ts";
import * as keys from "../kv_keys.ts";
import type {
  PreflightProbes,
  Probe,
  ProbeFailure,
  ProbeSetup,
  ProbeStore,
  ProbeTime,
} from "../preflight_port.ts";
import { accountHash, metaSchema } from "./kv_identity.ts";
import { parseStored } from "./kv_stored.ts";
import { UpbitRestClient } from "./upbit/rest_client.ts";
import { RestTransport } from "./upbit/rest_transport.ts";

/** Per-request time limit of every probe. */
const TIMEOUT_MS = 5_000;

/** The probes for `setup` (see `PreflightProbes`). */
export function createPreflightProbes(setup: ProbeSetup): PreflightProbes {
  let lastTime: ProbeTime | undefined;
  // Every answer's `Date` header, with the local clock around the request.
  const timedFetch: typeof fetch = async (input, init) => {
    const sentMs = setup.nowMs();
    const response = await fetch(input, init);
    const receivedMs = setup.nowMs();
    const date = Date.parse(response.headers.get("date") ?? "");
    if (Number.isFinite(date)) lastTime = { serverMs: date, sentMs, receivedMs };
    return response;
  };
  const options = {
    restUrl: setup.restUrl,
    accessKey: setup.accessKey.reveal(),
    secretKey: setup.secretKey,
    nowMs: setup.nowMs,
    timeoutMs: TIMEOUT_MS,
    maxReadRetries: 1,
    fetch: timedFetch,
  };
  const rest = new UpbitRestClient(options);
  // The one call the client has no method for (a read of the withdrawal group).
  const transport = new RestTransport({ ...options, limiter: rest.limiter });
  const telegram = setup.telegram;
  return {
    accounts: () =>
      probe(async () =>
        (await rest.accounts()).map((a) => ({
          currency: a.currency,
          balance: a.balance,
          locked: a.locked,
        }))
      ),
    chance: (market) =>
      probe(async () => {
        const c = await rest.orderChance(market);
        return {
          bidMinTotal: c.market.bidMinTotal,
          maxTotal: c.market.maxTotal,
          state: c.market.state,
          bidTypes: c.market.bidTypes,
          askTypes: c.market.askTypes,
          bidFee: c.bidFee,
        };
      }),
    testBuy: (market, amountKrw) => testBuy(rest, market, amountKrw),
    withdrawChance: () =>
      probe(async () => {
        await transport.read({
          method: "GET",
          path: "/v1/withdraws/chance",
          params: { currency: "KRW" },
          auth: true,
        }, z.unknown());
      }),
    markets: (markets) =>
      probe(async () => {
        const [tickers, instruments] = await Promise.all([
          rest.tickers(markets),
          rest.instruments(markets),
        ]);
        return markets.map((market) => {
          const ticker = tickers.find((t) => t.market === market);
          const instrument = instruments.find((i) => i.market === market);
          if (ticker === undefined || instrument === undefined) {
            throw new Error(`${market}: no ticker or instrument in Upbit's answer`);
          }
          return { market, price: ticker.tradePrice, tickSize: instrument.tickSize };
        });
      }),
    exchangeTime: (market) =>
      probe(async () => {
        lastTime = undefined;
        await rest.tickers([market]);
        if (lastTime === undefined) throw new Error("the answer had no Date header");
        return lastTime;
      }),
    account: () => accountHash(setup.accessKey.reveal()),
    telegram: () =>
      telegram === undefined ? undefined : probe(async () => {
        const api = new Api(telegram.token.reveal(), {
          apiRoot: telegram.apiRoot,
          timeoutSeconds: TIMEOUT_MS / 1000,
        });
        const me = await api.getMe();
        return { username: me.username };
      }, [telegram.token.reveal()]),
    store: (path) => probe(() => inspectStore(path)),
    disk: (path) =>
      probe(async () => {
        const info = await statfs(dirname(path));
        return { freeBytes: info.bavail * info.bsize, totalBytes: info.blocks * info.bsize };
      }),
  };
}

/** `POST /v1/orders/test` of a market buy (`ord_type=price`); a refusal is Upbit's name. */
async function testBuy(
  rest: UpbitRestClient,
  market: string,
  amountKrw: Units,
): Promise<Probe<void>> {
  return await probe(async () => {
    const res = await rest.testOrder({
      market,
      side: "bid",
      ordType: "price",
      price: amountKrw,
      // Fresh per run: whether a test call uses up its identifier is unconfirmed (API.md §3.3).
      identifier: `preflight-${crypto.randomUUID()}`,
    });
    if (!res.ok) {
      const r = res.error;
      throw new ProbeRefusal(
        r.kind === "rejected" ? r.code ?? r.reason : "duplicated_identifier",
        r.kind === "rejected" ? r.message : r.identifier,
      );
    }
  });
}

/** A definitive refusal with Upbit's name. */
class ProbeRefusal extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Whose store is at `path`, without creating one. */
async function inspectStore(path: string): Promise<ProbeStore> {
  if (path === ":memory:" || /^[a-z]+:\/\//i.test(path)) return { kind: "remote" };
  let size: number;
  try {
    size = (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "none" };
    throw error;
  }
  if (size === 0) return { kind: "empty file" };
  let bytes = size;
  for (const suffix of ["-wal", "-shm"]) {
    bytes += await Deno.stat(path + suffix).then((s) => s.size, () => 0);
  }
  const kv = await Deno.openKv(path);
  try {
    const entry = await kv.get(keys.metaKey());
    let meta: z.output<typeof metaSchema> | undefined;
    if (entry.versionstamp !== null) meta = parseStored(metaSchema, entry.key, entry.value);
    let empty = true;
    for await (const _ of kv.list({ prefix: [] }, { limit: 1 })) empty = false;
    return {
      kind: "store",
      meta: meta === undefined ? undefined : {
        botId: meta.botId,
        mode: meta.mode,
        markets: meta.markets,
        account: meta.account,
        updatedAtMs: meta.updatedAtMs,
      },
      empty,
      bytes,
    };
  } finally {
    kv.close();
  }
}

/** Runs `work`; a thrown error becomes a `ProbeFailure` (with `secrets` scrubbed from it). */
async function probe<T>(
  work: () => Promise<T>,
  secrets: readonly string[] = [],
): Promise<Probe<T>> {
  try {
    return ok(await work());
  } catch (error) {
    return err(failureOf(error, secrets));
  }
}

function failureOf(error: unknown, secrets: readonly string[]): ProbeFailure {
  let message = error instanceof Error ? error.message : String(error);
  for (const s of secrets) if (s !== "") message = message.split(s).join("[REDACTED]");
  message = message.split("\n")[0]!.slice(0, 240);
  if (error instanceof ProbeRefusal) return { name: error.code, message, unreachable: false };
  if (error instanceof EngineError) {
    const unreachable = error.status === undefined;
    return { name: error.code ?? error.name, message, unreachable };
  }
  const name = error instanceof Error ? error.name : "Error";
  // grammY's HttpError wraps a failed fetch; GrammyError carries the Bot API's code.
  const code = (error as { error_code?: unknown }).error_code;
  if (typeof code === "number") return { name: String(code), message, unreachable: false };
  return {
    name,
    message,
    unreachable: name === "HttpError" || name === "TimeoutError" || error instanceof TypeError,
  };
}
