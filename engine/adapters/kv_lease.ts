/**
 * The KV lease: which ONE process may trade on a store, held in the store itself (`["lease"]`),
 * so it works where an OS file lock cannot, on a remote KV reached over KV Connect.
 *
 * - **Taking it**: one atomic commit checked on the record as read (versionstamp). A live lease of
 *   another holder refuses, naming it and until when; an expired or released one is taken with the
 *   next epoch. `takeOver` is for a caller that already excludes every other process (the local
 *   store's file lock): a live lease left by a killed process is taken at once.
 * - **Keeping it**: renewed every `renewEveryMs` (default 10 s) to `now + ttlMs` (default 30 s).
 *   A renewal that cannot be written before the lease would expire (minus `skewMs`, the clock
 *   difference allowed between hosts) gives it up: the process stops trading.
 * - **Fencing**: every commit that can lead to an order checks the lease's versionstamp as this
 *   process last wrote it (`guard`). A process that lost the lease (paused, partitioned) and still
 *   believes it holds it cannot write an intent: its commit fails, `confirm` finds the lease
 *   someone else's and throws `LeaseLostError`, and the process stops. Renewing changes the
 *   versionstamp, so the lease tracks the newest one it wrote itself.
 * - **Letting go**: a clean stop marks the record released, so the next process starts at once.
 */

import { z } from "zod";
import type { Clock } from "../ports.ts";
import * as keys from "../kv_keys.ts";
import { parseStored } from "./kv_stored.ts";
import { err, ok, type Result } from "../core/result.ts";

/** How long a lease lasts after its last renewal. */
export const LEASE_TTL_MS = 30_000;
/** How often the holder renews it. */
export const LEASE_RENEW_EVERY_MS = 10_000;
/** The clock difference allowed between hosts: the holder stops this long before expiry. */
export const LEASE_SKEW_MS = 5_000;

const leaseSchema = z.object({
  v: z.literal(1),
  /** Random per process: only that process writes records with it. */
  holder: z.string().min(1),
  /** Who the holder is, for people (`pid 1234`). */
  label: z.string(),
  /** Grows by one with each new holder (a fencing token for logs and audits). */
  epoch: z.number().int().positive(),
  acquiredAtMs: z.number().int(),
  renewedAtMs: z.number().int(),
  expiresAtMs: z.number().int(),
  released: z.boolean(),
});

/** The stored lease. */
export type LeaseRecord = Omit<z.output<typeof leaseSchema>, "v">;

/** The process lost the lease (taken over, expired unrenewed, or released): it must not trade. */
export class LeaseLostError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "LeaseLostError";
  }
}

/** How a lease is held. */
export interface LeaseOptions {
  /** The holder's clock (expiry and renewals). */
  readonly clock: Clock;
  /** Who this process is, for people (`pid 1234`). */
  readonly label: string;
  readonly ttlMs?: number;
  readonly renewEveryMs?: number;
  readonly skewMs?: number;
  /** This process's id in the record (default random). */
  readonly holder?: string;
}

/** The lease as stored, with its versionstamp; undefined when none was ever written. */
export async function readLease(
  kv: Deno.Kv,
): Promise<{ record: LeaseRecord; versionstamp: string } | undefined> {
  const entry = await kv.get(keys.leaseKey());
  if (entry.versionstamp === null) return undefined;
  const { v: _v, ...record } = parseStored(leaseSchema, entry.key, entry.value);
  return { record, versionstamp: entry.versionstamp };
}

/** True while `record` binds everyone else: not released and not expired at `nowMs`. */
export function leaseLive(record: LeaseRecord, nowMs: number): boolean {
  return !record.released && nowMs < record.expiresAtMs;
}

/** `pid 1234 (lease epoch 3, until 2026-12-05T03:30:12.000Z)`. */
export function describeLease(record: LeaseRecord): string {
  return `${record.label} (lease epoch ${record.epoch}, until ${
    new Date(record.expiresAtMs).toISOString()
  })`;
}

/**
 * Takes the lease: err(the live record) when another process holds it (unless `takeOver`), else
 * the held lease.
 */
export async function acquireLease(
  kv: Deno.Kv,
  options: LeaseOptions,
  takeOver = false,
): Promise<Result<KvLease, LeaseRecord>> {
  const holder = options.holder ?? crypto.randomUUID();
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  const renewEveryMs = options.renewEveryMs ?? LEASE_RENEW_EVERY_MS;
  if (!(renewEveryMs > 0 && renewEveryMs < ttlMs - (options.skewMs ?? LEASE_SKEW_MS))) {
    throw new RangeError("Cannot hold a KV lease: renewals must come well within ttl - skew");
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await readLease(kv);
    const nowMs = options.clock.nowMs();
    if (
      current !== undefined && current.record.holder !== holder && !takeOver &&
      leaseLive(current.record, nowMs)
    ) {
      return err(current.record);
    }
    const record: LeaseRecord = {
      holder,
      label: options.label,
      epoch: (current?.record.epoch ?? 0) + 1,
      acquiredAtMs: nowMs,
      renewedAtMs: nowMs,
      expiresAtMs: nowMs + ttlMs,
      released: false,
    };
    const res = await kv.atomic()
      .check({ key: keys.leaseKey(), versionstamp: current?.versionstamp ?? null })
      .set(keys.leaseKey(), { v: 1, ...record })
      .commit();
    if (res.ok) return ok(new KvLease(kv, { ...options, holder }, record, res.versionstamp));
  }
  throw new Error("Cannot take the KV lease: the lease record kept changing");
}

/** A held lease: the fence for order commits, renewals, release. */
export class KvLease {
  readonly #kv: Deno.Kv;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #renewEveryMs: number;
  readonly #skewMs: number;
  #record: LeaseRecord;
  #versionstamp: string;
  readonly #lost = new AbortController();

  /** Use `acquireLease`. */
  constructor(
    kv: Deno.Kv,
    options: LeaseOptions & { readonly holder: string },
    record: LeaseRecord,
    versionstamp: string,
  ) {
    this.#kv = kv;
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs ?? LEASE_TTL_MS;
    this.#renewEveryMs = options.renewEveryMs ?? LEASE_RENEW_EVERY_MS;
    this.#skewMs = options.skewMs ?? LEASE_SKEW_MS;
    this.#record = record;
    this.#versionstamp = versionstamp;
  }

  /** The record as this process last wrote it. */
  get record(): LeaseRecord {
    return this.#record;
  }

  /** The versionstamp of that write (what `guard` checks). */
  get versionstamp(): string {
    return this.#versionstamp;
  }

  /** Aborted (its reason a `LeaseLostError`) once the lease is known lost or released. */
  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /**
   * Adds the fence to `op`: the lease must still be the record this process wrote last. Throws
   * when the lease is known lost or, by this process's own clock, about to expire unrenewed.
   */
  guard(op: Deno.AtomicOperation): void {
    this.#throwIfLost();
    if (this.#clock.nowMs() >= this.#record.expiresAtMs - this.#skewMs) {
      throw this.#lose(
        `the KV lease (epoch ${this.#record.epoch}) was not renewed in time: it expires at ${
          new Date(this.#record.expiresAtMs).toISOString()
        }`,
      );
    }
    op.check({ key: keys.leaseKey(), versionstamp: this.#versionstamp });
  }

  /**
   * After a failed fenced commit: re-reads the lease. Still ours (a renewal of ours moved its
   * versionstamp): adopts the newer stamp, so a retry can pass. Someone else's: lost, throws.
   */
  async confirm(): Promise<void> {
    this.#throwIfLost();
    const current = await readLease(this.#kv);
    if (
      current !== undefined && current.record.holder === this.#record.holder &&
      current.record.epoch === this.#record.epoch && !current.record.released
    ) {
      this.#adopt(current.record, current.versionstamp);
      return;
    }
    throw this.#lose(
      current === undefined
        ? "the KV lease record is gone"
        : current.record.released
        ? `the KV lease (epoch ${this.#record.epoch}) was released`
        : `the KV lease was taken over by ${describeLease(current.record)}`,
    );
  }

  /** Extends the lease to `now + ttl`; throws `LeaseLostError` when it is no longer ours. */
  async renew(): Promise<void> {
    this.#throwIfLost();
    for (let attempt = 0; attempt < 5; attempt++) {
      const nowMs = this.#clock.nowMs();
      const next: LeaseRecord = {
        ...this.#record,
        renewedAtMs: nowMs,
        expiresAtMs: nowMs + this.#ttlMs,
      };
      const res = await this.#kv.atomic()
        .check({ key: keys.leaseKey(), versionstamp: this.#versionstamp })
        .set(keys.leaseKey(), { v: 1, ...next })
        .commit();
      if (res.ok) {
        this.#adopt(next, res.versionstamp);
        return;
      }
      await this.confirm();
    }
    throw new Error("Cannot renew the KV lease: the lease record kept changing");
  }

  /**
   * Renews every `renewEveryMs` until `signal` aborts or the lease is lost. A renewal that fails
   * (a network error) is told to `onError` and retried; when none lands before the lease expires
   * (minus the skew), even one still hanging, the lease is given up and `lost` aborts.
   */
  async keep(signal: AbortSignal, onError: (error: unknown) => void = () => {}): Promise<void> {
    const stop = AbortSignal.any([signal, this.lost]);
    while (!stop.aborted) {
      await this.#clock.sleep(this.#renewEveryMs, stop);
      if (stop.aborted) return;
      const expiresAtMs = this.#record.expiresAtMs;
      const deadline = new AbortController();
      const renewal = this.renew().then(() => "renewed" as const, (error: unknown) => error);
      const late = this.#clock.sleep(
        Math.max(0, expiresAtMs - this.#skewMs - this.#clock.nowMs()),
        AbortSignal.any([stop, deadline.signal]),
      ).then(() => "late" as const);
      const outcome = await Promise.race([renewal, late]);
      deadline.abort();
      if (outcome === "renewed" || stop.aborted) continue;
      if (outcome !== "late") onError(outcome);
      if (outcome === "late" || this.#clock.nowMs() >= expiresAtMs - this.#skewMs) {
        this.#lose(
          `could not renew the KV lease (epoch ${this.#record.epoch}) before it expires at ${
            new Date(expiresAtMs).toISOString()
          }`,
        );
      }
    }
  }

  /**
   * Clean stop: marks the lease released (if still ours), so the next process need not wait. A
   * renewal of ours landing meanwhile moves the versionstamp: the release then follows it.
   */
  async release(): Promise<void> {
    if (this.#lost.signal.aborted) return;
    const epoch = this.#record.epoch;
    for (let attempt = 0; attempt < 3; attempt++) {
      const next: LeaseRecord = {
        ...this.#record,
        released: true,
        expiresAtMs: this.#clock.nowMs(),
      };
      const res = await this.#kv.atomic()
        .check({ key: keys.leaseKey(), versionstamp: this.#versionstamp })
        .set(keys.leaseKey(), { v: 1, ...next })
        .commit();
      if (res.ok) {
        this.#record = next;
        this.#versionstamp = res.versionstamp;
        break;
      }
      const current = await readLease(this.#kv);
      const ours = current !== undefined && current.record.holder === this.#record.holder &&
        current.record.epoch === epoch && !current.record.released;
      if (!ours) break;
      this.#adopt(current.record, current.versionstamp);
    }
    this.#lost.abort(new LeaseLostError(`the KV lease (epoch ${epoch}) was released`));
  }

  #adopt(record: LeaseRecord, versionstamp: string): void {
    // Versionstamps are fixed-width hex and grow with every commit: keep the newest of ours.
    if (versionstamp > this.#versionstamp) {
      this.#versionstamp = versionstamp;
      this.#record = record;
    }
  }

  #throwIfLost(): void {
    if (this.#lost.signal.aborted) throw this.#lost.signal.reason;
  }

  /** Marks the lease lost (once) and returns why. */
  #lose(reason: string): LeaseLostError {
    if (!this.#lost.signal.aborted) this.#lost.abort(new LeaseLostError(reason));
    return this.#lost.signal.reason;
  }
}
