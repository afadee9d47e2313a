/**
 * What must hold in a stopped bot's store, checked as a restart would open it (the stop test, the
 * deploy test): the lock free, every record parsing with its invariants (`verifyState`), the
 * ledger equal to the fills replayed from the initial cash, nothing negative. And its state as
 * plain data, to compare a store before and after a restart.
 */

import { acquireInstanceLock, KvStore } from "../engine/adapters/kv_store.ts";
import { INTENT_STATES } from "../engine/ports.ts";

/** Reopens a stopped bot's store as a restart would and checks what must hold. */
export async function storeProblems(path: string): Promise<string[]> {
  const problems: string[] = [];
  let lock;
  try {
    lock = await acquireInstanceLock(path);
  } catch (error) {
    return [`lock not free: ${error instanceof Error ? error.message : error}`];
  }
  const kv = await Deno.openKv(path);
  try {
    const store = new KvStore(kv);
    // The start-up's own check: every record parses, invariants hold, indexes point right.
    await store.verifyState();
    await store.getControl();
    await store.listIntents(INTENT_STATES);
    const fills = await store.listFills();
    for (const [currency, amount] of await store.getBalances()) {
      if (amount < 0n) problems.push(`balance ${currency} < 0`);
    }
    for (const market of new Set(["KRW-BTC", ...fills.map((f) => f.market)])) {
      const ledger = await store.getLedger(market);
      if (ledger === undefined) continue;
      if (ledger.cash < 0n || ledger.qty < 0n) problems.push(`${market}: ledger below zero`);
      // Ledger = fills: replaying the stored fills from the initial cash gives the ledger.
      let cash = ledger.initialCash;
      let qty = 0n;
      for (const f of fills.filter((f) => f.market === market)) {
        cash += f.side === "bid" ? -(f.funds + f.fee) : f.funds - f.fee;
        qty += f.side === "bid" ? f.volume : -f.volume;
      }
      if (cash !== ledger.cash || qty !== ledger.qty) {
        problems.push(
          `${market}: ledger (${ledger.cash}, ${ledger.qty}) != fills (${cash}, ${qty})`,
        );
      }
    }
  } catch (error) {
    problems.push(`store unreadable: ${error instanceof Error ? error.message : error}`);
  } finally {
    kv.close();
    lock.release();
  }
  return problems;
}

/** A stopped store's state as plain text: its fills, ledgers, balances and intents by state. */
export interface StoreSnapshot {
  readonly fills: readonly string[];
  readonly ledgers: Readonly<Record<string, string>>;
  readonly balances: Readonly<Record<string, string>>;
  readonly intents: Readonly<Record<string, number>>;
}

function text(value: unknown): string {
  return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
}

/** Reads a stopped bot's store (under its lock) into a `StoreSnapshot`. */
export async function storeSnapshot(path: string): Promise<StoreSnapshot> {
  const lock = await acquireInstanceLock(path);
  const kv = await Deno.openKv(path);
  try {
    const store = new KvStore(kv);
    const fills = await store.listFills();
    const ledgers: Record<string, string> = {};
    for (const market of new Set(fills.map((f) => f.market))) {
      ledgers[market] = text(await store.getLedger(market));
    }
    const balances: Record<string, string> = {};
    for (const [currency, amount] of await store.getBalances()) balances[currency] = `${amount}`;
    const intents: Record<string, number> = {};
    for (const intent of await store.listIntents(INTENT_STATES)) {
      intents[intent.state] = (intents[intent.state] ?? 0) + 1;
    }
    return { fills: fills.map(text), ledgers, balances, intents };
  } finally {
    kv.close();
    lock.release();
  }
}
