/** Tests of the sweep's parameter spaces (the seeded random draw) and of its ranking. */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { Metrics } from "../../../engine/core/metrics.ts";
import { gridSets, randomSets, rankRows, type SweepRow } from "../../../engine/core/sweep.ts";

Deno.test("randomSets draws distinct sets of the grid, at most the grid's size, the same for a seed", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 0, max: 1_000 }),
      (sizes, count, seed) => {
        const space = Object.fromEntries(
          sizes.map((n, i) => [`p${i}`, Array.from({ length: n }, (_, v) => v + 1)]),
        );
        const grid = new Set(gridSets(space).map((set) => JSON.stringify(set)));
        const drawn = randomSets(space, { count, seed }).map((set) => JSON.stringify(set));
        assert.equal(drawn.length, Math.min(count, grid.size));
        assert.equal(new Set(drawn).size, drawn.length);
        for (const set of drawn) assert.ok(grid.has(set), set);
        assert.deepEqual(randomSets(space, { count, seed }).map((s) => JSON.stringify(s)), drawn);
      },
    ),
  );
});

Deno.test("rankRows puts the sets that never traded after every set that did, whatever the metric", () => {
  const row = (index: number, trades: number, sharpe: number, maxDrawdownPct: number) =>
    ({
      index,
      dataset: "d",
      params: { period: index },
      metrics: { trades, sharpe, maxDrawdownPct } as unknown as Metrics,
    }) satisfies SweepRow;
  const rows = [row(0, 0, 0, 0), row(1, 12, -0.4, 30), row(2, 3, 0.8, 12), row(3, 0, 0, 0)];
  assert.deepEqual(rankRows(rows, "sharpe").map((r) => r.index), [2, 1, 0, 3]);
  assert.deepEqual(rankRows(rows, "drawdown").map((r) => r.index), [2, 1, 0, 3]);
});
