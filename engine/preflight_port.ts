/**
 * What `deno task preflight` asks of the outside world before a live start: the exchange (with
 * the keys), Telegram, the store and the disk. `engine/cli/preflight_command.ts` decides from
 * the answers; `engine/adapters/preflight_probes.ts` asks (over Upbit's REST API, the Bot API,
 * Deno KV and `statfs`). Every probe is a read: none places an order or moves money.
 */

import type { Units } from "./core/money.ts";
import type { Result } from "./core/result.ts";
import type { Secret } from "./secret.ts";

/** Why a probe got no useful answer. */
export interface ProbeFailure {
  /** Upbit's `error.name` (`out_of_scope`, …), the Bot API's code, or the error's class. */
  readonly name: string;
  /** One line, without secrets. */
  readonly message: string;
  /** No answer arrived at all (refused connection, timeout). */
  readonly unreachable: boolean;
}

/** A probe's answer. */
export type Probe<T> = Result<T, ProbeFailure>;

/** One line of `GET /v1/accounts`. */
export interface ProbeBalance {
  readonly currency: string;
  readonly balance: Units;
  readonly locked: Units;
}

/** The parts of `GET /v1/orders/chance` a check reads. */
export interface ProbeChance {
  /** Minimum bid total, KRW. */
  readonly bidMinTotal: Units;
  readonly maxTotal: Units;
  /** `active` when the pair trades. */
  readonly state: string;
  readonly bidTypes: readonly string[];
  readonly askTypes: readonly string[];
  /** The bid fee as a fraction in Units (`0.0005`). */
  readonly bidFee: Units;
}

/** A market's last price and Upbit's tick size for it (`/v1/ticker`, `/v1/orderbook/instruments`). */
export interface ProbeMarket {
  readonly market: string;
  readonly price: Units;
  readonly tickSize: Units;
}

/** The exchange's clock as one answer's `Date` header showed it, and the local clock around it. */
export interface ProbeTime {
  /** The `Date` header (whole seconds), UTC epoch ms. */
  readonly serverMs: number;
  /** Local clock when the request went out and when the answer came. */
  readonly sentMs: number;
  readonly receivedMs: number;
}

/** Whose a store is (its `["meta"]` record). */
export interface ProbeStoreMeta {
  readonly botId: string;
  readonly mode: "paper" | "live" | "demo";
  readonly markets: readonly string[];
  /** `accountHash` of the keys it last ran with, or null. */
  readonly account: string | null;
  readonly updatedAtMs: number;
}

/** What is at the store path. */
export type ProbeStore =
  | { readonly kind: "none" }
  | { readonly kind: "empty file" }
  | { readonly kind: "remote" }
  | {
    readonly kind: "store";
    /** Undefined: no owner record. */
    readonly meta: ProbeStoreMeta | undefined;
    /** No keys at all. */
    readonly empty: boolean;
    /** The store's files together (main, `-wal`, `-shm`). */
    readonly bytes: number;
  };

/** Free and total space of the file system at a path. */
export interface ProbeDisk {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/** The probes of one preflight run. */
export interface PreflightProbes {
  /** `GET /v1/accounts` (자산조회). */
  accounts(): Promise<Probe<readonly ProbeBalance[]>>;
  /** `GET /v1/orders/chance` (주문조회). */
  chance(market: string): Promise<Probe<ProbeChance>>;
  /** `POST /v1/orders/test` (주문하기): a market buy of `amountKrw`, validated, never placed. */
  testBuy(market: string, amountKrw: Units): Promise<Probe<void>>;
  /** `GET /v1/withdraws/chance?currency=KRW` (출금조회): a read that `out_of_scope` refuses. */
  withdrawChance(): Promise<Probe<void>>;
  /** Last prices and tick sizes (public endpoints). */
  markets(markets: readonly string[]): Promise<Probe<readonly ProbeMarket[]>>;
  /** One public request, timed against its `Date` header. */
  exchangeTime(market: string): Promise<Probe<ProbeTime>>;
  /** The account id stores are tagged with (`accountHash` of the access key). */
  account(): Promise<string>;
  /** Telegram's `getMe` (undefined when Telegram is not configured). */
  telegram(): Promise<Probe<{ readonly username: string }>> | undefined;
  /** What is at the store path (opened read-only in effect: nothing is written). */
  store(path: string): Promise<Probe<ProbeStore>>;
  /** Free space where the store lives. */
  disk(path: string): Promise<Probe<ProbeDisk>>;
}

/** What the probes are built from. */
export interface ProbeSetup {
  readonly restUrl: string;
  readonly accessKey: Secret;
  readonly secretKey: Secret;
  /** Telegram, when configured. */
  readonly telegram: { readonly apiRoot: string; readonly token: Secret } | undefined;
  /** The local clock (the one the bot would run on). */
  readonly nowMs: () => number;
}
