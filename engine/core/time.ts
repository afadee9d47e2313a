/**
 * Pure UTC date arithmetic for the core (which may not construct `Date`s): civil dates from
 * epoch ms and back, after Howard Hinnant's `civil_from_days`.
 */

/** A UTC calendar date and time of day. */
export interface UtcParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** Splits epoch ms into UTC calendar parts. */
export function utcParts(ms: number): UtcParts {
  const days = Math.floor(ms / 86_400_000);
  const msOfDay = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {
    year,
    month,
    day,
    hour: Math.floor(msOfDay / 3_600_000),
    minute: Math.floor(msOfDay / 60_000) % 60,
    second: Math.floor(msOfDay / 1000) % 60,
  };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Formats epoch ms as `YYYY-MM-DDTHH:MM:SSZ`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatIsoUtc(Date.UTC(2024, 1, 29, 9, 5, 7)), "2024-02-29T09:05:07Z");
 * ```
 */
export function formatIsoUtc(ms: number): string {
  const p = utcParts(ms);
  return `${p.year}-${pad2(p.month)}-${pad2(p.day)}T${pad2(p.hour)}:${pad2(p.minute)}:${
    pad2(p.second)
  }Z`;
}

/** Formats epoch ms as `YYYY-MM-DD` (UTC). */
export function formatIsoDate(ms: number): string {
  return formatIsoUtc(ms).slice(0, 10);
}
