/**
 * `deno task sandbox`: runs the Upbit sandbox until interrupted and prints where it listens and
 * which key it accepts. The only place in the sandbox that reads `Deno.args`, `Deno.env` or
 * writes to the console.
 */

import { z } from "zod";
import { formatDateTime } from "../core/format.ts";
import { createSandbox, DEFAULT_ACCOUNT, DEMO_ACCESS_KEY, DEMO_SECRET_KEY } from "./mod.ts";

/** The `--help` text. */
export const HELP = `Usage: deno task sandbox [options]

A local Upbit exchange on 127.0.0.1: Upbit's REST API (quotation + exchange, JWT auth, matching,
Upbit's JSON shapes, error names and rate limits) and WebSocket (ticker, trade, orderbook,
candle.*, myOrder, myAsset) over a deterministic replay of the real KRW candles in data/.
Runs until Ctrl-C.

Options:
  --port N            public port on 127.0.0.1 (default 7770; 0 = any free port, printed)
  --speed X           sandbox seconds per real second (default 1)
  --seed N            seed of the synthetic trades, paths and books (default 1)
  --start ISO         data time that becomes "now" (default 2025-08-01 at today's UTC time);
                      the data is shifted by whole days so that point is today
  --data FILE...      candle files upbit-<MARKET>-<tf>[-…].csv (default: every data/upbit-*.csv:
                      KRW-BTC, KRW-ETH, KRW-XRP, KRW-SOL, KRW-DOGE)
  --balance CUR=AMT   opening balance of the default account, repeatable (default KRW=10000000)
  --accounts FILE     several accounts, one per key pair, from a JSON file:
                      {"accounts":[{"id":"alice","access_key":"…","secret_key":"…",
                                    "balances":{"KRW":"1000000","BTC":"0.1"}}, …]}
                      (replaces the default account and the UPBIT_* / demo keys); a key's
                      optional "permissions" lists its groups (default the trading three):
                      view_assets, view_orders, place_orders, view_withdrawals
  --no-rate-limits    turn Upbit's REST/WebSocket rate limits off
  --admin-faults      serve the fault switches at /sandbox/faults (default off)
  --help, -h          this text

Point a client at it: REST base http://127.0.0.1:PORT (paths /v1/...), public WebSocket
ws://127.0.0.1:PORT/websocket/v1, private ws://127.0.0.1:PORT/websocket/v1/private with
"Authorization: Bearer <jwt>" on the upgrade. Plain HTTP/WS, no TLS.

Keys: UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY when both are set (the secret is never printed);
otherwise the demo keys (they guard nothing; the sandbox is local):
  access ${DEMO_ACCESS_KEY}
  secret ${DEMO_SECRET_KEY}
Sign as for Upbit: HS256 or HS512, a fresh UUID nonce per request, query_hash (SHA-512) of the
unencoded query string or of the JSON body as k=v&... in body order. Fees 0.05%.

Rate limits (Upbit's, per second): quotation 10/s per group per IP (market, candles,
crix-trades, ticker, orderbook; 1 per 10 s with an Origin header); exchange per account:
default 30/s, order 12/s, order-test 8/s, order-cancel-all 1 per 2 s. Every REST answer has
Remaining-Req. Over the limit: 429 "Too many API requests." (plain text); 5 of those within
10 s: 418 with the block time (10 s, doubling on each repeat). WebSocket: 5 connects/s per IP,
5 messages/s and 100/min per connection ("Too Many Requests" error message).

Fault switches (REST, only with --admin-faults), on the same port:
  POST /sandbox/faults {"kind":K,"path":"/v1/orders","method":"POST","count":N,...}  arm one
       (path: exact request path, every path if omitted; method: any if omitted; count:
       requests it hits, default 1)
  GET /sandbox/faults  list armed faults       DELETE /sandbox/faults  clear all
  K: delay (delayMs, then normal) | lose_response (mode hang|reset, hangMs; not processed) |
     accept_then_lose (processed, answer lost) | server_error (status 5xx, Upbit JSON) |
     html_error (status, HTML page) | rate_limited (429) | blocked (418, blockMs)
Where Upbit's behaviour is unconfirmed the sandbox picks one documented default (see the
README's Sandbox section).`;

/** Parsed command line. */
export interface CliArgs {
  readonly port: number;
  readonly speed: number;
  readonly seed: number;
  readonly startAt?: string;
  readonly dataFiles?: readonly string[];
  readonly balances?: Readonly<Record<string, string>>;
  readonly rateLimits: boolean;
  readonly adminFaults: boolean;
  readonly accountsFile?: string;
  readonly help: boolean;
}

const DECIMAL = z.string().regex(/^\d+(\.\d{1,8})?$/, 'expected a decimal amount like "1000000"');

/** The `--accounts` file: several accounts, each with its key pair and opening balances. */
const ACCOUNTS_FILE = z.object({
  accounts: z.array(z.object({
    id: z.string().min(1).max(64),
    access_key: z.string().min(8),
    secret_key: z.string().min(8),
    permissions: z.array(
      z.enum(["view_assets", "view_orders", "place_orders", "view_withdrawals"]),
    ).min(1).optional(),
    balances: z.record(
      z.string().regex(/^[A-Z0-9]{1,15}$/, "expected a currency like KRW"),
      DECIMAL,
    )
      .default({}),
  })).min(1),
});

/** Reads and validates an `--accounts` file; throws `RangeError` with a one-line message. */
async function readAccountsFile(path: string): Promise<z.infer<typeof ACCOUNTS_FILE>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new RangeError(`--accounts: cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RangeError(`--accounts: ${path} is not valid JSON`);
  }
  const parsed = ACCOUNTS_FILE.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RangeError(`--accounts: ${path}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

function numberArg(flag: string, text: string | undefined, integer: boolean): number {
  const n = Number(text);
  if (
    text === undefined || text === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) ||
    n < 0
  ) {
    throw new RangeError(
      `${flag} needs a ${integer ? "whole " : ""}number >= 0: got ${text ?? "nothing"}`,
    );
  }
  return n;
}

/** Why `--start` names no moment of the data (a day that does not exist, or outside the data). */
function startRefusal(
  startAt: string | undefined,
  span: { readonly firstMs: number; readonly endMs: number } | undefined,
): string | undefined {
  if (startAt === undefined || span === undefined) return undefined;
  const ms = Date.parse(startAt);
  const reason = !isCalendarDate(startAt)
    ? "not a calendar date (no such day or time)"
    : ms < span.firstMs
    ? "before the data: nothing to replay"
    : ms >= span.endMs
    ? "after the data: nothing to replay"
    : undefined;
  if (reason === undefined) return undefined;
  const at = (t: number) => formatDateTime(t).slice(0, 16);
  return `--start ${startAt}: ${reason} (the data covers ${at(span.firstMs)} → ${
    at(span.endMs)
  } UTC)`;
}

/** Why the default start (2025-08-01) lies outside `--data`: a market that would never move. */
function defaultStartRefusal(
  startAt: string | undefined,
  replay: {
    readonly dataSpan: { readonly firstMs: number; readonly endMs: number } | undefined;
    dataTimeOf(ms: number): { readonly dataMs: number };
    nowMs(): number;
  },
): string | undefined {
  const span = replay.dataSpan;
  if (startAt !== undefined || span === undefined) return undefined;
  const dataMs = replay.dataTimeOf(replay.nowMs()).dataMs;
  if (dataMs >= span.firstMs && dataMs < span.endMs) return undefined;
  const at = (t: number) => formatDateTime(t).slice(0, 16);
  return `--start: the default start ${at(dataMs)} UTC is outside the data (${at(span.firstMs)} → ${
    at(span.endMs)
  } UTC): the market would never move; pass --start ${
    formatDateTime(span.firstMs).slice(0, 16).replace(" ", "T")
  } or a later moment of the data`;
}

/** `true` when the date part (and a time's hours, minutes, seconds) names a real moment. */
function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (m === null) return false;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1).map((v) =>
    v === undefined ? undefined : Number(v)
  );
  const day = new Date(Date.UTC(y!, mo! - 1, d!));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo! - 1 && day.getUTCDate() === d &&
    h! < 24 && mi! < 60 && s! < 60;
}

/** Parses `args`; throws `RangeError` with a one-line message on bad input. */
function parseCliArgs(args: readonly string[]): CliArgs {
  let port = 7770;
  let speed = 1;
  let seed = 1;
  let startAt: string | undefined;
  const data: string[] = [];
  const balances: Record<string, string> = {};
  let rateLimits = true;
  let adminFaults = false;
  let accountsFile: string | undefined;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    switch (a) {
      case "--port":
        port = numberArg(a, args[++i], true);
        if (port > 65535) throw new RangeError(`--port must be <= 65535: got ${port}`);
        break;
      case "--speed":
        speed = numberArg(a, args[++i], false);
        if (speed === 0) throw new RangeError("--speed must be > 0: got 0");
        break;
      case "--seed":
        seed = numberArg(a, args[++i], true);
        break;
      case "--start":
        startAt = args[++i];
        if (startAt === undefined || !Number.isFinite(Date.parse(startAt))) {
          throw new RangeError(`--start needs an ISO date: got ${startAt ?? "nothing"}`);
        }
        break;
      case "--data":
        while (i + 1 < args.length && !(args[i + 1] as string).startsWith("--")) {
          data.push(args[++i] as string);
        }
        if (data.length === 0) throw new RangeError("--data needs at least one file");
        break;
      case "--balance": {
        const m = /^([A-Z0-9]{2,10})=(\d+(?:\.\d{1,8})?)$/.exec(args[++i] ?? "");
        if (m === null) {
          throw new RangeError(
            `--balance needs CUR=AMOUNT (e.g. KRW=10000000): got ${args[i] ?? "nothing"}`,
          );
        }
        balances[m[1] as string] = m[2] as string;
        break;
      }
      case "--no-rate-limits":
        rateLimits = false;
        break;
      case "--accounts":
        accountsFile = args[++i];
        if (accountsFile === undefined || accountsFile.startsWith("--")) {
          throw new RangeError("--accounts needs a JSON file");
        }
        break;
      case "--admin-faults":
        adminFaults = true;
        break;
      case "--help":
      case "-h":
        help = true;
        break;
      default:
        throw new RangeError(`unknown option ${a} (see --help)`);
    }
  }
  return {
    port,
    speed,
    seed,
    startAt,
    dataFiles: data.length > 0 ? data : undefined,
    balances: Object.keys(balances).length > 0 ? balances : undefined,
    rateLimits,
    adminFaults,
    accountsFile,
    help,
  };
}

/** Runs the CLI; every mistake ends with one line on stderr and exit code 2. */
export async function main(args: readonly string[]): Promise<void> {
  let parsed: CliArgs;
  try {
    parsed = fromUserFolder(parseCliArgs(args));
  } catch (err) {
    fail(`sandbox: ${(err as Error).message}`);
  }
  if (parsed.help) {
    // deno-lint-ignore no-console
    console.log(HELP);
    return;
  }
  try {
    await serve(parsed);
  } catch (err) {
    fail(`sandbox: ${startError(err, parsed)}`);
  }
}

/** Prints one line (no stack trace) and exits with code 2. */
function fail(line: string): never {
  // deno-lint-ignore no-console
  console.error(line.replace(/[\r\n]+/g, " "));
  Deno.exit(2);
}

/**
 * The user's paths start in their working folder: `deno task` runs in the folder of deno.json
 * and passes the caller's folder as `INIT_CWD`.
 */
function fromUserFolder(parsed: CliArgs): CliArgs {
  let cwd: string | undefined;
  try {
    cwd = Deno.env.get("INIT_CWD");
  } catch {
    // Not granted: paths stay relative to the process's folder.
  }
  if (cwd === undefined || !cwd.startsWith("/")) return parsed;
  const resolve = (path: string) => (path.startsWith("/") ? path : `${cwd}/${path}`);
  return {
    ...parsed,
    dataFiles: parsed.dataFiles?.map(resolve),
    accountsFile: parsed.accountsFile === undefined ? undefined : resolve(parsed.accountsFile),
  };
}

/** Why the sandbox could not start, naming the flag the user can change. */
function startError(err: unknown, parsed: CliArgs): string {
  const message = err instanceof Error ? err.message.split("\n")[0]! : String(err);
  const name = err instanceof Error ? err.name : "";
  // readAccountsFile's messages already name the flag.
  if (message.startsWith("--")) return message;
  if (name === "AddrInUse") {
    return `--port ${parsed.port}: already in use (pick another port, or --port 0 for any free one)`;
  }
  if (name === "PermissionDenied" && parsed.port > 0 && parsed.port < 1024) {
    return `--port ${parsed.port}: not allowed (ports below 1024 need root; use --port 0 for any ` +
      "free port)";
  }
  if (name === "PermissionDenied" || name === "NotCapable") return `${name}: ${message}`;
  if (
    parsed.dataFiles !== undefined && (name === "CandleFileError" || /replay data/.test(message))
  ) {
    return `--data: ${message}`;
  }
  if (parsed.startAt !== undefined && /startAt|start/.test(message)) return `--start: ${message}`;
  return `cannot start: ${name === "" ? "" : `${name}: `}${message}`;
}

async function serve(parsed: CliArgs): Promise<void> {
  const file = parsed.accountsFile === undefined
    ? undefined
    : await readAccountsFile(parsed.accountsFile);
  const access = Deno.env.get("UPBIT_ACCESS_KEY");
  const secret = Deno.env.get("UPBIT_SECRET_KEY");
  const demo = file === undefined && (access === undefined || secret === undefined);
  const fromFile = file?.accounts.map((a) => ({
    accessKey: a.access_key,
    secretKey: a.secret_key,
    accountId: a.id,
    ...(a.permissions === undefined ? {} : { permissions: a.permissions }),
  }));
  const sb = await createSandbox({
    port: parsed.port,
    speed: parsed.speed,
    seed: parsed.seed,
    startAt: parsed.startAt,
    dataFiles: parsed.dataFiles,
    balances: parsed.balances,
    rateLimits: parsed.rateLimits,
    adminFaults: parsed.adminFaults,
    accounts: fromFile ??
      (demo ? undefined : [{ accessKey: access!, secretKey: secret!, accountId: DEFAULT_ACCOUNT }]),
    accountBalances: file === undefined
      ? undefined
      : Object.fromEntries(file.accounts.map((a) => [a.id, a.balances])),
  });
  const refusal = startRefusal(parsed.startAt, sb.replay.dataSpan) ??
    defaultStartRefusal(parsed.startAt, sb.replay);
  if (refusal !== undefined) {
    await sb.close();
    throw new RangeError(refusal);
  }
  // deno-lint-ignore no-console
  console.log(`sandbox rest=${sb.restUrl} ws=${sb.wsUrl}`);
  // deno-lint-ignore no-console
  console.log(
    file !== undefined
      ? file.accounts.map((a) => `account ${a.id} access key ${a.access_key}`).join("\n")
      : demo
      ? `access key ${DEMO_ACCESS_KEY} (demo keys; secret ${DEMO_SECRET_KEY})`
      : `access key ${access} (from UPBIT_ACCESS_KEY)`,
  );
  Deno.addSignalListener("SIGINT", () => {
    sb.close().finally(() => Deno.exit(0));
  });
}

if (import.meta.main) await main(Deno.args);
