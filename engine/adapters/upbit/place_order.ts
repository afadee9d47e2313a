/**
 * `OrderPlacer`: the safe order-placement protocol of reliability.md §1.6 behind
 * `UpbitRestClient.placeOrder`.
 *
 * An ambiguous outcome (timeout, reset, 5xx, unreadable body) or `duplicated_identifier` is
 * resolved by looking the order up by its `identifier` until a visibility grace has passed; only
 * an order proven absent is resent, with the SAME identifier. The result says which path was
 * taken.
 */

import { err, ok, type Result } from "../../core/result.ts";
import { ConflictError, RateLimitedError, RejectedError, TemporaryError } from "../../errors.ts";
import {
  orderBody,
  type OrderRef,
  type OrderRejection,
  type OrderRequest,
  refParams,
  rejectionOf,
} from "./rest_exchange.ts";
import type { RestTransport } from "./rest_transport.ts";
import { type Order, orderSchema } from "./schemas.ts";

/** How `placeOrder` got its order. */
export type PlacePath =
  /** The first POST answered 201. */
  | "created"
  /** An ambiguous POST was found by identifier: adopted, not resent. */
  | "adopted"
  /** Proven absent past the grace, resent with the same identifier, which answered 201. */
  | "resent"
  /** A POST answered `duplicated_identifier`; the existing order was adopted. */
  | "adopted_duplicate";

/** A placed (or adopted) order and how it was obtained. */
export interface PlacedOrder {
  readonly order: Order;
  readonly path: PlacePath;
  /** POSTs sent. */
  readonly attempts: number;
  /** Look-ups by identifier made. */
  readonly lookups: number;
}

/** `placeOrder` could not learn whether the order exists: keep the intent UNKNOWN and alert. */
export class OrderOutcomeUnknownError extends TemporaryError {
  /** The identifier whose order may or may not exist. */
  readonly identifier: string;

  /** Builds the error. */
  constructor(message: string, options: { readonly identifier: string; readonly cause?: unknown }) {
    super(message, { reason: "timeout", cause: options.cause });
    this.name = "OrderOutcomeUnknownError";
    this.identifier = options.identifier;
  }
}

/** Tuning of `OrderPlacer` (part of `UpbitRestClientOptions`). */
export interface PlaceOrderOptions {
  /** How long a just-sent order may stay invisible to look-ups (default 10 000 ms). */
  readonly visibilityGraceMs?: number;
  /** First look-up backoff step of order resolution (default 250 ms; doubles, cap 4 s). */
  readonly lookupBackoffMs?: number;
  /** POSTs per `placeOrder` before giving up with an unknown outcome (default 5). */
  readonly maxPlaceAttempts?: number;
  /** Look-ups per resolution before giving up with an unknown outcome (default 50). */
  readonly maxLookups?: number;
}

/** Places orders by the identifier-resolution protocol, over a shared transport. */
export class OrderPlacer {
  readonly #transport: RestTransport;
  readonly #graceMs: number;
  readonly #lookupBackoffMs: number;
  readonly #maxPlaceAttempts: number;
  readonly #maxLookups: number;

  /** Sends every call through `transport`; see `PlaceOrderOptions` for the defaults. */
  constructor(transport: RestTransport, options: PlaceOrderOptions = {}) {
    this.#transport = transport;
    this.#graceMs = options.visibilityGraceMs ?? 10_000;
    this.#lookupBackoffMs = options.lookupBackoffMs ?? 250;
    this.#maxPlaceAttempts = options.maxPlaceAttempts ?? 5;
    this.#maxLookups = options.maxLookups ?? 50;
  }

  /**
   * Places an order safely (reliability.md §1.6). A definitive refusal is returned as data; an
   * ambiguous outcome is resolved by `identifier` (adopt if found; resend with the same
   * identifier only once proven absent past the visibility grace). Throws `AuthError`,
   * `ConfigError`, a 418 `RateLimitedError`, or `OrderOutcomeUnknownError` when the outcome
   * stays unknown after the attempt/look-up caps.
   */
  async place(
    request: OrderRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<PlacedOrder, OrderRejection>> {
    const { identifier } = request;
    let lookups = 0;
    let ambiguous = false;
    let lastError: unknown;
    for (let attempts = 1; attempts <= this.#maxPlaceAttempts; attempts++) {
      // The grace runs from when the POST actually left, not from when it was queued.
      let sentAtMs = this.#transport.nowMs();
      try {
        const order = await this.#transport.write({
          method: "POST",
          path: "/v1/orders",
          body: orderBody(request),
          auth: true,
          signal: options.signal,
          onSend: (atMs) => (sentAtMs = atMs),
        }, orderSchema);
        return ok({ order, path: ambiguous ? "resent" : "created", attempts, lookups });
      } catch (error) {
        lastError = error;
        if (error instanceof RejectedError) return err(rejectionOf(error));
        if (error instanceof ConflictError) {
          // duplicated_identifier: it exists (possibly from a concurrent or lost earlier POST).
          const found = await this.#resolve(identifier, sentAtMs, options.signal);
          lookups += found.lookups;
          if (found.order !== undefined) {
            return ok({ order: found.order, path: "adopted_duplicate", attempts, lookups });
          }
          return err({ kind: "identifier_burned", identifier });
        }
        if (error instanceof RateLimitedError) {
          // 429: refused before processing, so not sent; a 418 halts the group: escalate.
          if (error.blocked || error.retryAfterMs > this.#transport.maxRetryWaitMs) throw error;
          continue;
        }
        if (!(error instanceof TemporaryError)) throw error;
        ambiguous = true;
        const found = await this.#resolve(identifier, sentAtMs, options.signal);
        lookups += found.lookups;
        if (found.order !== undefined) {
          return ok({ order: found.order, path: "adopted", attempts, lookups });
        }
        // Proven absent past the grace: resend with the SAME identifier.
      }
    }
    throw new OrderOutcomeUnknownError(
      `Cannot place order ${identifier}: outcome still unknown after ${this.#maxPlaceAttempts} attempts`,
      { identifier, cause: lastError },
    );
  }

  /**
   * Looks `identifier` up until found, or until a look-up *started* after `sentAtMs + grace`
   * answers "not found" (proven absent). Look-up failures back off and try again.
   */
  async #resolve(
    identifier: string,
    sentAtMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ order: Order | undefined; lookups: number }> {
    let lookups = 0;
    let lastError: unknown;
    for (let i = 0; i < this.#maxLookups; i++) {
      let startedMs = this.#transport.nowMs();
      lookups++;
      try {
        const order = await this.#getOrderOnce(
          { identifier },
          signal,
          (atMs) => (startedMs = atMs),
        );
        if (order !== undefined) return { order, lookups };
        if (startedMs - sentAtMs > this.#graceMs) return { order: undefined, lookups };
      } catch (error) {
        if (!(error instanceof TemporaryError || error instanceof RateLimitedError)) throw error;
        if (error instanceof RateLimitedError && error.blocked) throw error;
        lastError = error;
      }
      const step = Math.min(4000, this.#lookupBackoffMs * 2 ** Math.min(i, 10));
      const untilGrace = sentAtMs + this.#graceMs + 1 - this.#transport.nowMs();
      // Never sleep far past the grace when only the grace is left to wait for.
      await this.#transport.sleep(
        this.#transport.jitter(Math.max(1, Math.min(step, Math.max(untilGrace, 1)))),
        signal,
      );
    }
    throw new OrderOutcomeUnknownError(
      `Cannot resolve order ${identifier}: ${this.#maxLookups} look-ups without an answer`,
      { identifier, cause: lastError },
    );
  }

  /** One `GET /v1/order` without read retries (resolution has its own backoff). */
  async #getOrderOnce(
    ref: OrderRef,
    signal: AbortSignal | undefined,
    onSend: (atMs: number) => void,
  ): Promise<Order | undefined> {
    try {
      return await this.#transport.write({
        method: "GET",
        path: "/v1/order",
        params: refParams(ref),
        auth: true,
        signal,
        onSend,
      }, orderSchema);
    } catch (error) {
      if (error instanceof RejectedError && error.code === "order_not_found") return undefined;
      throw error;
    }
  }
}
