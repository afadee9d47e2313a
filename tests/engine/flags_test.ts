/** Tests of the shared flag reader: negative numbers are values, every mistake names the flag. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { clip, parseFlags } from "../../engine/flags.ts";

const SPEC = { capital: "string", speed: "string", json: "boolean", help: "boolean" } as const;

function error(args: string[]): string {
  const r = parseFlags(args, SPEC, { h: "help" });
  assert.equal(r.ok, false, `expected an error for ${args.join(" ")}`);
  return r.ok ? "" : r.error;
}

Deno.test("parseFlags() reads a negative number as the flag's value, spaced or with =", () => {
  for (const args of [["--capital", "-1000"], ["--capital=-1000"]]) {
    assert.deepEqual(parseFlags(args, SPEC), { ok: true, value: { capital: "-1000" } });
  }
  assert.deepEqual(parseFlags(["--speed", "-0.5", "--json"], SPEC), {
    ok: true,
    value: { speed: "-0.5", json: true },
  });
  assert.deepEqual(parseFlags(["--speed", "-1e3"], SPEC), { ok: true, value: { speed: "-1e3" } });
});

Deno.test("parseFlags() reads any negative number as a value (property)", () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, max: -Number.MIN_VALUE }), (n) => {
      const text = String(n);
      const r = parseFlags(["--capital", text, "--json"], SPEC);
      return r.ok && r.value.capital === text && r.value.json === true;
    }),
  );
});

Deno.test("parseFlags() names the flag and the reason of each mistake", () => {
  assert.equal(error(["--capital"]), "--capital: needs a value");
  assert.equal(error(["--capital", "--json"]), "--capital: needs a value");
  assert.equal(error(["--captial", "5"]), "--captial: unknown option (did you mean --capital?)");
  assert.equal(error(["--zzzzzzzz"]), "--zzzzzzzz: unknown option");
  assert.equal(error(["--json=yes"]), '--json: takes no value (got "yes")');
  assert.equal(error(["--json", "--json"]), "--json: given more than once");
  assert.equal(error(["-x"]), "-x: unknown option");
  assert.equal(error(["5000"]), '"5000": unexpected argument (options start with --)');
  assert.deepEqual(parseFlags(["-h"], SPEC, { h: "help" }), { ok: true, value: { help: true } });
});

Deno.test("clip() keeps user text on one line", () => {
  assert.equal(clip("a\nb\r\nc\td"), "a b c d");
  assert.equal(clip("x".repeat(100)).length, 60);
});
