/**
 * Structured logs: one JSON object per line (for journald and log shippers), or one readable
 * line on a terminal. Every finished line goes through a redactor, so no secret can reach the
 * output even when a caller passes one by mistake (reliability.md §5: the `Secret` wrapper is the
 * first layer, this scrubber the second). The writer is injected: this module does no I/O.
 * A `LogRing` keeps the newest lines (redacted, readable form) for Telegram's `/logs`.
 */

import { formatDateTime } from "./core/format.ts";
import { formatUnits } from "./core/money.ts";
import { REDACTED } from "./secret.ts";

/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra fields of a line (values may be bigints, Errors or Secrets: all are made safe). */
export type LogData = Readonly<Record<string, unknown>>;

/** Where the engine's adapters and commands log. */
export interface Logger {
  /** Detail for debugging (hidden unless the logger's level is `debug`). */
  debug(message: string, data?: LogData): void;
  /** What happened. */
  info(message: string, data?: LogData): void;
  /** Something worth a look. */
  warn(message: string, data?: LogData): void;
  /** Something failed. */
  error(message: string, data?: LogData): void;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** `json`: one JSON object per line; `pretty`: `YYYY-MM-DD HH:MM:SS LEVEL message key=value` (UTC). */
  readonly format: "json" | "pretty";
  /** Receives each finished line, newline included. */
  readonly write: (line: string) => void;
  /** Wall clock, UTC epoch ms. */
  readonly nowMs: () => number;
  /** Exact values to scrub (the configured secrets). */
  readonly secrets?: readonly string[];
  /** Lowest level written (default `info`). */
  readonly level?: LogLevel;
  /** Fields added to every line (e.g. `{ mode: "paper" }`; JSON only). */
  readonly base?: LogData;
  /** Also keeps each written line, redacted and in the readable form, in this ring. */
  readonly recent?: LogRing;
}

/** The newest log lines in memory, bounded by count and line length (for `/logs`). */
export class LogRing {
  readonly #lines: string[] = [];
  readonly #capacity: number;
  readonly #maxLineLength: number;

  /** Keeps at most `capacity` lines of at most `maxLineLength` characters each. */
  constructor(options: { readonly capacity?: number; readonly maxLineLength?: number } = {}) {
    this.#capacity = options.capacity ?? 200;
    this.#maxLineLength = options.maxLineLength ?? 300;
  }

  /** Adds one finished (already redacted) line, dropping the oldest past the capacity. */
  push(line: string): void {
    const text = line.replace(/\n$/, "");
    this.#lines.push(
      text.length > this.#maxLineLength ? `${text.slice(0, this.#maxLineLength - 1)}…` : text,
    );
    if (this.#lines.length > this.#capacity) {
      this.#lines.splice(0, this.#lines.length - this.#capacity);
    }
  }

  /** The newest `n` lines, oldest first. */
  recent(n: number): readonly string[] {
    return n <= 0 ? [] : this.#lines.slice(-n);
  }
}

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Secrets shorter than this are not scrubbed by value (they would mangle ordinary text). */
const MIN_SECRET_LENGTH = 6;

/** Token shapes that are scrubbed whatever their value (reliability.md §5). */
const PATTERNS: readonly RegExp[] = [
  /(authorization["']?\s*[:=]\s*["']?)[^"',\s}]+(\s+[^"',\s}]+)?/gi,
  /\bBearer\s+[A-Za-z0-9._~+/=-]+/g,
  /eyJ[\w-]+\.[\w-]+\.[\w-]+/g,
  /\b\d{6,}:[A-Za-z0-9_-]{30,}\b/g,
];

/**
 * A function that removes every configured secret (raw, JSON-escaped and URL-encoded) and every
 * token-shaped string from `text`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const redact = createRedactor(["s3cr3t-value"]);
 * assert.equal(redact("key=s3cr3t-value"), "key=[REDACTED]");
 * assert.equal(redact("Authorization: Bearer abc.def"), "Authorization: [REDACTED]");
 * ```
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const variants = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    variants.add(s);
    variants.add(JSON.stringify(s).slice(1, -1));
    variants.add(encodeURIComponent(s));
  }
  // Longest first, so a secret containing another is scrubbed whole.
  const exact = [...variants].sort((a, b) => b.length - a.length);
  return function redact(text: string): string {
    let out = text;
    for (const v of exact) out = out.split(v).join(REDACTED);
    for (const p of PATTERNS) {
      out = out.replace(
        p,
        (_m, prefix: unknown) =>
          typeof prefix === "string" && /authorization/i.test(prefix)
            ? `${prefix}${REDACTED}`
            : REDACTED,
      );
    }
    return out;
  };
}

/** A logger writing structured or pretty lines through the redactor. */
export function createLogger(options: LoggerOptions): Logger {
  const redact = createRedactor(options.secrets ?? []);
  const min = LEVELS[options.level ?? "info"];
  function log(level: LogLevel, message: string, data?: LogData): void {
    if (LEVELS[level] < min) return;
    const atMs = options.nowMs();
    const line = options.format === "json"
      ? jsonLine({ level, atMs, message, base: options.base, data })
      : prettyLine({ level, atMs, message, data });
    options.write(redact(line) + "\n");
    if (options.recent !== undefined) {
      const readable = options.format === "pretty"
        ? line
        : prettyLine({ level, atMs, message, data });
      for (const one of redact(readable).split("\n")) options.recent.push(one);
    }
  }
  return {
    debug: (message, data) => log("debug", message, data),
    info: (message, data) => log("info", message, data),
    warn: (message, data) => log("warn", message, data),
    error: (message, data) => log("error", message, data),
  };
}

function jsonLine(
  line: { level: LogLevel; atMs: number; message: string; base?: LogData; data?: LogData },
): string {
  return JSON.stringify(
    {
      time: new Date(line.atMs).toISOString(),
      level: line.level,
      msg: line.message,
      ...line.base,
      ...line.data,
    },
    replacer,
  );
}

function prettyLine(
  line: { level: LogLevel; atMs: number; message: string; data?: LogData },
): string {
  // Dated: a run that crosses midnight must say so on every line.
  const time = formatDateTime(line.atMs);
  const level = line.level === "info" ? "" : ` ${line.level.toUpperCase()}`;
  // An engine event's message already tells the whole story; its fields are for the JSON form.
  const data = line.data?.event === undefined ? line.data : undefined;
  const fields = Object.entries(data ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${prettyValue(v)}`)
    .join(" ");
  // Every line of a multi-line message carries the time too (a story is read line by line).
  return `${line.message}${fields === "" ? "" : `  ${fields}`}`.split("\n")
    .map((text) => `${time}${level} ${text}`).join("\n");
}

function prettyValue(value: unknown): string {
  const safe = JSON.parse(JSON.stringify(value, replacer) ?? "null") as unknown;
  if (typeof safe === "string") return /[\s"=]/.test(safe) ? JSON.stringify(safe) : safe;
  return JSON.stringify(safe);
}

/** bigint → exact decimal text (money is `Units`), Error → its name and message. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return formatUnits(value);
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return value;
}
