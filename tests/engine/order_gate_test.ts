import assert from "node:assert/strict";
import { OrderGate } from "../../engine/order_gate.ts";

Deno.test("OrderGate.aside() lets an exclusive run go while a shared run waits, then comes back after it", async () => {
  const gate = new OrderGate();
  const log: string[] = [];
  let release!: () => void;
  const waited = new Promise<void>((resolve) => release = resolve);
  const shared = gate.shared(async () => {
    log.push("shared: in");
    await gate.aside(() => waited);
    log.push("shared: back");
  });
  await Promise.resolve();
  const exclusive = gate.exclusive(async () => {
    log.push("exclusive");
    // The shared run is released meanwhile: it comes back in only after this pass.
    release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.push("exclusive: end");
  });
  await Promise.all([shared, exclusive]);
  assert.deepEqual(log, ["shared: in", "exclusive", "exclusive: end", "shared: back"]);
});

Deno.test("OrderGate.exclusive() waits for a shared run that is not aside", async () => {
  const gate = new OrderGate();
  const log: string[] = [];
  const shared = gate.shared(async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.push("shared");
  });
  await Promise.resolve();
  await gate.exclusive(() => {
    log.push("exclusive");
    return Promise.resolve();
  });
  await shared;
  assert.deepEqual(log, ["shared", "exclusive"]);
});
