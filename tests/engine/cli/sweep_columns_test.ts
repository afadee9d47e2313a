import assert from "node:assert/strict";
import fc from "fast-check";
import { candleColumns, candlesFromColumns } from "../../../engine/cli/sweep_columns.ts";
import type { Candle } from "../../../engine/core/candle.ts";

const field = fc.oneof(fc.double(), fc.constant(Number.NaN), fc.constant(-0));

Deno.test("candles survive the trip through columns field for field (NaN and -0 included)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          startMs: fc.integer({ min: 0, max: 2 ** 45 }),
          open: field,
          high: field,
          low: field,
          close: field,
          volume: field,
          value: field,
        }).map((c) => ({ ...c })),
        { maxLength: 50 },
      ),
      (candles: Candle[]) => {
        const columns = candleColumns(candles);
        assert.equal(columns.length, 7 * candles.length);
        assert.deepEqual(candlesFromColumns(columns), candles);
      },
    ),
  );
});
