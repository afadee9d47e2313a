/** Market names as Upbit spells them (`QUOTE-BASE`, e.g. `KRW-BTC`). */

/** The base currency of a market (`KRW-BTC` → `BTC`); throws a `RangeError` on another shape. */
export function baseCurrency(market: string): string {
  const base = market.split("-")[1];
  if (base === undefined || base === "") {
    throw new RangeError(`Cannot read market: expected QUOTE-BASE: current value is "${market}"`);
  }
  return base;
}
