/**
 * The command-line flag reader shared by every command: `--name value`, `--name=value`,
 * boolean `--name`, and short aliases like `-h`.
 *
 * Unlike `node:util`'s `parseArgs`, a value that starts with one dash is read as the value, so
 * `--capital -1000` reaches validation (and is refused there with the reason) instead of failing
 * as "argument is ambiguous". Every mistake is one line naming the flag or argument.
 */

import { err, ok, type Result } from "./core/result.ts";

/** The flags a command accepts: name (without dashes) → whether it takes a value. */
export type FlagSpec = Readonly<Record<string, "string" | "boolean">>;

/** Parsed flags: name → value text, or `true` for a boolean flag that was given. */
export type FlagValues = Record<string, string | true>;

/**
 * Reads `args` against `spec`; `short` maps one-letter aliases (`{ h: "help" }`). The error names
 * the flag and the reason, e.g. `--capital: needs a value` or `--captial: unknown option (did you
 * mean --capital?)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const parsed = parseFlags(["--capital", "-1000"], { capital: "string" });
 * assert.deepEqual(parsed, { ok: true, value: { capital: "-1000" } });
 * ```
 */
export function parseFlags(
  args: readonly string[],
  spec: FlagSpec,
  short: Readonly<Record<string, string>> = {},
): Result<FlagValues, string> {
  const values: FlagValues = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(arg)) {
      const long = short[arg.slice(1)];
      if (long === undefined) return err(`${arg}: unknown option`);
      name = long;
    } else {
      return err(`"${clip(arg)}": unexpected argument (options start with --)`);
    }
    const kind = spec[name];
    if (kind === undefined) {
      const near = nearest(name, Object.keys(spec));
      return err(
        `--${clip(name)}: unknown option${near === undefined ? "" : ` (did you mean --${near}?)`}`,
      );
    }
    if (values[name] !== undefined) return err(`--${name}: given more than once`);
    if (kind === "boolean") {
      if (inline !== undefined) return err(`--${name}: takes no value (got "${clip(inline)}")`);
      values[name] = true;
      continue;
    }
    if (inline === undefined) {
      const next = args[i + 1];
      // A value may start with one dash (a negative number); `--x` is the next flag.
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        return err(`--${name}: needs a value`);
      }
      inline = next;
      i++;
    }
    values[name] = inline;
  }
  return ok(values);
}

/** The flag closest to a mistyped one (at most 2 edits away), if any. */
function nearest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** User text in a message: one line (control characters become spaces), at most `max` characters. */
export function clip(text: string, max = 60): string {
  // deno-lint-ignore no-control-regex
  const line = text.replace(/[\x00-\x1f\x7f]+/g, " ");
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * ` (got "…")` for what a flag (or a JSON key) was given, so the message shows what was refused;
 * empty for a flag given without a value.
 */
export function got(value: unknown): string {
  if (typeof value === "string") return ` (got "${clip(value)}")`;
  if (value === undefined || value === true) return "";
  return ` (got ${clip(JSON.stringify(value))})`;
}
