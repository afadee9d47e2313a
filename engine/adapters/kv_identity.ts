/**
 * Opening the bot's store at start: whose it is, and what to do with what the account holds.
 *
 * - Paths are made absolute, so a store never depends on the working folder unnoticed.
 * - The store's files are created 0600 before anything is written to them (SQLite gives its
 *   `-wal` and `-shm` files the main file's mode).
 * - A damaged file, a store of another mode, bot or account, and a new or empty live store while
 *   the account already holds coins of the configured markets (or has open orders there) stop
 *   the start with one line, unless `--adopt` or `--ignore-holdings` says what to do with them.
 * - The demo replaces only a store that it created itself (its meta record says `demo`), and
 *   reads a copy to find out, so a store it refuses stays byte-equal.
 */

import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import type { HoldingsPolicy, TradingMode } from "../config.ts";
import { formatUnits, type Units } from "../core/money.ts";
import { ConfigError, errorLine } from "../errors.ts";
import * as keys from "../kv_keys.ts";
import type { ExchangeOrder } from "../ports.ts";
import { parseStored } from "./kv_stored.ts";

/** A reason not to start that the user can fix: one line, exit code 2. */
export class StartRefusal extends ConfigError {
  /** Builds the refusal. */
  constructor(message: string) {
    super(message);
    this.name = "StartRefusal";
  }
}

/** The value of `["meta"]`. */
export const metaSchema = z.object({
  v: z.literal(1),
  botId: z.string().min(1),
  mode: z.enum(["paper", "live", "demo"]),
  markets: z.array(z.string().min(1)).min(1),
  account: z.string().regex(/^[0-9a-f]{16}$/, "expected 16 hex digits").nullable(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
  external: z.record(z.string(), z.string().regex(/^\d+(\.\d{1,8})?$/, "not an exact amount")),
});

/** Whose store this is (`["meta"]`): written once when the store is created. */
export interface StoreMeta {
  readonly botId: string;
  /** The mode that created the store; `demo` is the marker the demo deletes by. */
  readonly mode: "paper" | "live" | "demo";
  /** The markets the bot last started with (ctl reads them on a stopped bot). */
  readonly markets: readonly string[];
  /** First 16 hex digits of SHA-256 of the access key (`accountHash`); null without keys. */
  readonly account: string | null;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** Holdings left alone when the store was created (`--ignore-holdings`): currency → amount. */
  readonly external: Readonly<Record<string, string>>;
}

/** The account a store belongs to: the first 16 hex digits of SHA-256 of the access key. */
export async function accountHash(accessKey: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessKey));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The store methods the start needs (`KvStore` has them). */
export interface IdentityStore {
  getMeta(): Promise<StoreMeta | undefined>;
  isEmpty(): Promise<boolean>;
  createMeta(meta: StoreMeta): Promise<boolean>;
  noteStart(markets: readonly string[], atMs: number): Promise<void>;
}

/** The files of a local store besides the main one. */
const SIDE_FILES = ["-wal", "-shm"];

/** `true` for a remote KV URL or `:memory:` (no local file). */
function isRemoteOrMemory(kvPath: string): boolean {
  return kvPath === ":memory:" || /^[a-z]+:\/\//i.test(kvPath);
}

/** The store path made absolute against `cwd` (remote URLs and `:memory:` are kept). */
export function resolveStorePath(kvPath: string, cwd: string): string {
  if (isRemoteOrMemory(kvPath) || isAbsolute(kvPath)) return kvPath;
  return resolve(cwd, kvPath);
}

/** What a local store path held before it was opened. */
export type StoreFound = "no file" | "a 0-byte file" | "a store";

/** Looks at the path without touching it. */
export async function inspectStoreFile(path: string): Promise<StoreFound> {
  if (isRemoteOrMemory(path)) return "a store";
  try {
    const info = await Deno.stat(path);
    return info.size === 0 ? "a 0-byte file" : "a store";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "no file";
    throw error;
  }
}

/**
 * The demo may replace the store at `path` only when it created it: no file there, or a store
 * whose meta record says `demo`. The check opens a copy, so a refused store is never touched.
 */
export async function checkDemoStore(path: string): Promise<void> {
  if (isRemoteOrMemory(path)) {
    throw new StartRefusal(`--kv: the demo uses a local file, not ${path}`);
  }
  const present: string[] = [];
  for (const suffix of ["", ...SIDE_FILES]) {
    if (await exists(path + suffix)) present.push(suffix);
  }
  if (present.length === 0) return;
  const refuse = (what: string) =>
    new StartRefusal(
      `--kv: ${path} is ${what}, not a store the demo created; the demo replaces only its own ` +
        "store (pick another --kv, or remove it yourself)",
    );
  if (!present.includes("")) throw refuse("the remains of a store (no main file)");
  if ((await Deno.stat(path)).size === 0) throw refuse("a 0-byte file");
  // Beside the store, not in the system temp dir: `deno task demo` may write only under ./data.
  const slash = path.lastIndexOf("/");
  const dir = await Deno.makeTempDir({
    dir: slash < 0 ? "." : path.slice(0, slash) || "/",
    prefix: ".demo-check-",
  });
  try {
    for (const suffix of present) await Deno.copyFile(path + suffix, `${dir}/s.kv${suffix}`);
    let meta: StoreMeta | undefined;
    let kv: Deno.Kv | undefined;
    try {
      kv = await Deno.openKv(`${dir}/s.kv`);
      const entry = await kv.get(keys.metaKey());
      if (entry.versionstamp !== null) meta = parseStored(metaSchema, entry.key, entry.value);
    } catch {
      throw refuse("not a readable store");
    } finally {
      kv?.close();
    }
    if (meta === undefined) throw refuse("a store without an owner record");
    if (meta.mode !== "demo") throw refuse(`the store of a ${meta.mode} bot (bot ${meta.botId})`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What a start found at a local store path: the files there (a snapshot `undoStoreStart` uses). */
export interface StoreFilesBefore {
  readonly path: string;
  /** `""`, `-wal`, `-shm`: the files that existed. */
  readonly present: readonly string[];
  /** The main file existed with 0 bytes. */
  readonly emptyMain: boolean;
}

/** Notes which store files exist at `path` (undefined for a remote KV or `:memory:`). */
export async function storeFilesBefore(path: string): Promise<StoreFilesBefore | undefined> {
  if (isRemoteOrMemory(path)) return undefined;
  const present: string[] = [];
  for (const suffix of ["", ...SIDE_FILES]) {
    if (await exists(path + suffix)) present.push(suffix);
  }
  const emptyMain = present.includes("") && (await Deno.stat(path)).size === 0;
  return { path, present, emptyMain };
}

/**
 * After a refused start (the store closed): removes the files this start created and empties a
 * main file that was 0 bytes, so the next start finds what this one found.
 */
export async function undoStoreStart(before: StoreFilesBefore | undefined): Promise<void> {
  if (before === undefined) return;
  for (const suffix of ["", ...SIDE_FILES]) {
    if (!before.present.includes(suffix)) {
      await Deno.remove(before.path + suffix).catch(() => {});
    }
  }
  if (before.emptyMain) await Deno.truncate(before.path, 0).catch(() => {});
}

/** Removes the demo's previous store (checked by `checkDemoStore` first). */
export async function removeStoreFiles(path: string): Promise<void> {
  for (const suffix of ["", ...SIDE_FILES]) await Deno.remove(path + suffix).catch(() => {});
}

/**
 * Opens the KV file at `path` with owner-only files: a new file is created 0600 before SQLite
 * writes to it (SQLite gives `-wal` and `-shm` the main file's mode), an existing one is narrowed
 * to 0600. A new directory is created 0700, and the project's own `./data` is narrowed to 0700
 * (a directory the user chose elsewhere is left as it is). A damaged file refuses.
 */
export async function openStoreFile(path: string): Promise<Deno.Kv> {
  if (!isRemoteOrMemory(path)) {
    const slash = path.lastIndexOf("/");
    const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    if (resolve(dir) === resolve("data")) await Deno.chmod(dir, 0o700).catch(() => {});
    try {
      await Deno.writeFile(path, new Uint8Array(), { createNew: true, mode: 0o600 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    for (const suffix of ["", ...SIDE_FILES]) {
      await Deno.chmod(path + suffix, 0o600).catch(() => {});
    }
  }
  try {
    return await Deno.openKv(path);
  } catch (error) {
    const reason = errorLine(error);
    if (/^[a-z]+:\/\//i.test(path)) {
      throw new StartRefusal(
        `store ${path}: cannot open the remote KV (${reason}); nothing was traded (check ` +
          "DENO_KV_ACCESS_TOKEN, and that --allow-net names its host and port)",
      );
    }
    throw new StartRefusal(
      `store ${path}: damaged or not a Deno KV file (${reason}); nothing was traded ` +
        "(restore it from a backup, or move it away)",
    );
  }
}

/** A coin the account holds in a configured market. */
export interface Holding {
  readonly market: string;
  readonly currency: string;
  /** Available plus locked. */
  readonly volume: Units;
  /** Upbit's `avg_buy_price` (0 when Upbit does not know it). */
  readonly avgBuyPrice: Units;
}

/** What the start needs to decide whose store it is. */
export interface StoreStart {
  readonly path: string;
  readonly found: StoreFound;
  readonly mode: TradingMode;
  readonly botId: string;
  readonly markets: readonly string[];
  /** `accountHash` of the access key (live), or null. */
  readonly account: string | null;
  readonly policy: HoldingsPolicy;
  /** Live: coins of the configured markets the account holds. */
  readonly holdings: readonly Holding[];
  /** Live: open orders on the configured markets. */
  readonly openOrders: readonly ExchangeOrder[];
  readonly nowMs: number;
}

/** What the start decided: the holdings to take over as positions (`--adopt`). */
export interface StoreDecision {
  readonly adopt: readonly Holding[];
  /** Holdings left alone (recorded as external). */
  readonly ignored: readonly Holding[];
  /** The store was created by this start. */
  readonly created: boolean;
}

/**
 * Checks that the store belongs to this bot, mode and account, and records it when the store is
 * new. A new or empty live store refuses while the account holds coins of the configured markets
 * or has open orders there, unless the policy is `adopt` or `ignore`.
 */
export async function claimStore(store: IdentityStore, start: StoreStart): Promise<StoreDecision> {
  const { path, mode } = start;
  const meta = await store.getMeta();
  if (meta !== undefined) {
    if (meta.mode !== mode) {
      throw new StartRefusal(
        `store ${path} is the store of a ${meta.mode} bot (bot ${meta.botId}); ${mode} needs ` +
          "its own --kv",
      );
    }
    if (meta.account !== start.account) {
      throw new StartRefusal(
        `store ${path} belongs to another Upbit account (account ${
          meta.account ?? "none"
        }; these keys are account ${start.account ?? "none"}): use that account's keys or ` +
          "another --kv",
      );
    }
    if (meta.botId !== start.botId) {
      throw new StartRefusal(
        `store ${path} is the store of bot ${meta.botId}, not ${start.botId} (--bot-id)`,
      );
    }
    // --adopt / --ignore-holdings apply to a new store only: a restart keeps its positions.
    await store.noteStart(start.markets, start.nowMs);
    return { adopt: [], ignored: [], created: false };
  }
  if (!(await store.isEmpty())) {
    if (mode === "live") {
      throw new StartRefusal(
        `store ${path} has state but no owner record (meta): live will not guess whose it is ` +
          "(move it away and start with a new --kv)",
      );
    }
  } else if (mode === "live") {
    const what = start.found === "a store" ? "an empty store" : start.found;
    const busy = start.holdings.length > 0 || start.openOrders.length > 0;
    if (busy && start.policy === "refuse") {
      throw new StartRefusal(
        `store ${path}: found ${what}, but the account already holds ${describe(start)}: pass ` +
          "--adopt to take them over as positions, or --ignore-holdings to leave them alone " +
          "(or point --kv at this bot's store)",
      );
    }
    if (start.policy === "adopt" && start.openOrders.length > 0) {
      throw new StartRefusal(
        `--adopt: ${describeOrders(start.openOrders)}: cancel them first (or --ignore-holdings)`,
      );
    }
  }
  const ignored = start.policy === "ignore" ? start.holdings : [];
  const created = await store.createMeta({
    botId: start.botId,
    mode,
    markets: [...start.markets],
    account: start.account,
    createdAtMs: start.nowMs,
    updatedAtMs: start.nowMs,
    external: Object.fromEntries(ignored.map((h) => [h.currency, formatUnits(h.volume)])),
  });
  if (!created) throw new StartRefusal(`store ${path} changed while starting; start again`);
  return { adopt: start.policy === "adopt" ? start.holdings : [], ignored, created: true };
}

function describe(start: StoreStart): string {
  const parts = start.holdings.map((h) => `${formatUnits(h.volume)} ${h.currency}`);
  if (start.openOrders.length > 0) parts.push(describeOrders(start.openOrders));
  return parts.join(" and ");
}

function describeOrders(orders: readonly ExchangeOrder[]): string {
  const markets = [...new Set(orders.map((o) => o.market))].join(", ");
  return `${orders.length} open order${orders.length === 1 ? "" : "s"} on ${markets}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
