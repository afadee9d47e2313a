/**
 * Neutral infrastructure failures, named for the reaction they need (STYLE.md §Errors). Every
 * adapter throws these (the Upbit client, the KV store, the paper exchange), so the loop can react
 * without knowing which venue or store failed. Venue specifics (how Upbit's answers map to these)
 * stay in the adapter, e.g. `engine/adapters/upbit/errors.ts`.
 *
 * Every class carries `retryable`: whether sending the same request again can help.
 * `TemporaryError` also means "the outcome is unknown": a write that failed this way may or may
 * not have happened, which is why order placement resolves it by `identifier`.
 */

/** What a failed answer said, when there was one. */
export interface ErrorOrigin {
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  /** The venue's own error name (Upbit's `error.name`, as text), when given. */
  readonly code?: string;
  /** The underlying failure, if any. */
  readonly cause?: unknown;
}

/** Base of every typed infrastructure failure. */
export abstract class EngineError extends Error {
  /** Whether sending the same request again can help. */
  abstract readonly retryable: boolean;
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** The venue's own error name, when given (e.g. `insufficient_funds_bid`, or "404"). */
  readonly code: string | undefined;

  /** Builds the error; `status`/`code` describe the answer, when there was one. */
  constructor(message: string, options: ErrorOrigin = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
  }
}

/** Why a call's outcome is unknown. */
export type TemporaryReason =
  /** No answer within the time limit (the request may have been processed). */
  | "timeout"
  /** The connection failed or was reset (before or after the request was processed). */
  | "network"
  /** 5xx, including a venue's internal error and maintenance. */
  | "server_error"
  /** An answer arrived but is not what the venue sends (HTML, truncated, wrong shape). */
  | "bad_response";

/** Retry with backoff. For a write, the outcome is unknown: resolve it before resending. */
export class TemporaryError extends EngineError {
  /** Always true. */
  readonly retryable = true;
  /** What went wrong. */
  readonly reason: TemporaryReason;

  /** Builds the error. */
  constructor(message: string, options: ErrorOrigin & { readonly reason: TemporaryReason }) {
    super(message, options);
    this.name = "TemporaryError";
    this.reason = options.reason;
  }
}

/** Retry after `retryAfterMs`: the venue refused before processing (429), or blocked us (418). */
export class RateLimitedError extends EngineError {
  /** Always true (after the delay). */
  readonly retryable = true;
  /** How long to wait before this group may be called again. */
  readonly retryAfterMs: number;
  /** Our rate-limit group that was refused. */
  readonly group: string;
  /** True for a block (repeat offence: alert), false for a plain rate limit. */
  readonly blocked: boolean;

  /** Builds the error. */
  constructor(
    message: string,
    options: ErrorOrigin & {
      readonly retryAfterMs: number;
      readonly group: string;
      readonly blocked: boolean;
    },
  ) {
    super(message, options);
    this.name = "RateLimitedError";
    this.retryAfterMs = options.retryAfterMs;
    this.group = options.group;
    this.blocked = options.blocked;
  }
}

/** Stop and alert: the key, its signature, its IP allow-list or its permissions are wrong. */
export class AuthError extends EngineError {
  /** Always false. */
  readonly retryable = false;

  /** Builds the error. */
  constructor(message: string, options: ErrorOrigin = {}) {
    super(message, options);
    this.name = "AuthError";
  }
}

/** Stop and alert: our request, configuration or environment is wrong (unknown market, lock…). */
export class ConfigError extends EngineError {
  /** Always false. */
  readonly retryable = false;

  /** Builds the error. */
  constructor(message: string, options: ErrorOrigin = {}) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** Re-read and stop: the request collides with existing state (a duplicate id, a lost race). */
export class ConflictError extends EngineError {
  /** Always false: the same request will collide again. */
  readonly retryable = false;

  /** Builds the error. */
  constructor(message: string, options: ErrorOrigin = {}) {
    super(message, options);
    this.name = "ConflictError";
  }
}

/** What kind of definitive refusal the venue gave. */
export type RejectionReason =
  | "insufficient_funds"
  | "under_min_total"
  | "over_max_total"
  | "invalid_price"
  | "invalid_volume"
  | "invalid_order"
  | "invalid_parameter"
  | "not_found"
  | "market_offline"
  | "unknown";

/**
 * The venue answered and refused: the request was definitively not carried out, and sending it
 * unchanged cannot help. Order methods return it as data (`OrderRejection`).
 */
export class RejectedError extends EngineError {
  /** Always false. */
  readonly retryable = false;
  /** The kind of refusal. */
  readonly reason: RejectionReason;

  /** Builds the error. */
  constructor(message: string, options: ErrorOrigin & { readonly reason: RejectionReason }) {
    super(message, options);
    this.name = "RejectedError";
    this.reason = options.reason;
  }
}

/** The first line of an error's message (or of `String(value)` for a non-Error), for one log line. */
export function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}
