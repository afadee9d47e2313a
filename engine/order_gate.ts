/**
 * The order gate of the traders that share a store (one process, one trader per market), and of
 * the operator commands that act on their orders.
 *
 * Order handling of different markets runs side by side (`shared`); a reconciliation pass or an
 * operator command that touches orders or the switches runs alone (`exclusive`): it waits for
 * the order in flight and holds back new handling until it is done. So an emergency stop never
 * meets a submit halfway, and once it has committed the halt, every later submit sees it.
 */

import type { Store } from "./ports.ts";

/** Serializes order work: `shared` beside each other, `exclusive` alone. */
export class OrderGate {
  #active = 0;
  #pass: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  /** External orders already reported, so a pass alerts on each once. */
  readonly reportedExternal: Set<string> = new Set<string>();

  /** Runs `fn` beside other order handling, after any exclusive run waiting or running. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#pass !== undefined) await this.#pass;
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      if (this.#active === 0) this.#drained?.();
    }
  }

  /**
   * Inside `shared`: runs `fn`, a wait that sends no order (an entry waiting for its turn among
   * the markets closing together), as if outside the gate, so an exclusive run need not wait for
   * it; then comes back in, after any exclusive run.
   */
  async aside<T>(fn: () => Promise<T>): Promise<T> {
    this.#active--;
    if (this.#active === 0) this.#drained?.();
    try {
      return await fn();
    } finally {
      while (this.#pass !== undefined) await this.#pass;
      this.#active++;
    }
  }

  /** Runs `fn` alone: waits for the order handling in progress, holds back new handling. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#pass !== undefined) await this.#pass;
    let release!: () => void;
    this.#pass = new Promise((resolve) => release = resolve);
    try {
      if (this.#active > 0) await new Promise<void>((resolve) => this.#drained = resolve);
      this.#drained = undefined;
      return await fn();
    } finally {
      this.#pass = undefined;
      release();
    }
  }
}

const GATES = new WeakMap<Store, OrderGate>();

/** The one gate of `store` in this process (created on first use). */
export function gateOf(store: Store): OrderGate {
  let gate = GATES.get(store);
  if (gate === undefined) {
    gate = new OrderGate();
    GATES.set(store, gate);
  }
  return gate;
}
