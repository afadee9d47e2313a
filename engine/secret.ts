/**
 * `Secret`: a string that never prints (reliability.md §5). Config wraps every key in one; only
 * the code that needs the bytes (request signing) calls `reveal()`. `engine/log.ts` scrubs the
 * revealed values again as a second layer.
 */

/** What a secret prints as. */
export const REDACTED = "[REDACTED]";

/**
 * A secret string that never prints: `toString`, `toJSON`, template strings, `Deno.inspect`,
 * `console.log` and Node's `util.inspect` all give `[REDACTED]`. Read it with `reveal()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const s = new Secret("hunter2");
 * assert.equal(`${s}`, "[REDACTED]");
 * assert.equal(JSON.stringify({ s }), '{"s":"[REDACTED]"}');
 * assert.equal(s.reveal(), "hunter2");
 * ```
 */
export class Secret {
  readonly #value: string;

  /** Wraps `value`. */
  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself; call it only where the bytes are needed (signing). */
  reveal(): string {
    return this.#value;
  }

  /** Always `[REDACTED]`. */
  toString(): string {
    return REDACTED;
  }

  /** Always `[REDACTED]`, so `JSON.stringify` cannot leak it. */
  toJSON(): string {
    return REDACTED;
  }

  /** `Deno.inspect` / `console.log` hook. */
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }

  /** Node `util.inspect` hook (npm libraries that log through it). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
