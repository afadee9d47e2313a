/** Tests of the sweep's parameter spaces: the seeded random draw. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { gridSets, randomSets } from "../../../engine/core/sweep.ts";

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
