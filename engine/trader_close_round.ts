/**
 * The same-close rounds of the traders that share a store (one trader per market, one process):
 * the live side of the same-close rule (`sameCloseOrder`, engine/core/portfolio.ts) the account
 * backtester follows. When several markets' candles close at the same time, the exits decided on
 * that close go first and the entries are granted ONE AT A TIME in the account's market order,
 * each planned against the account as the ones before it left it; so which market takes the last
 * position slot never depends on which loop happened to run first.
 *
 * Each market's loop reports every close it has decided (`arrive`), after its exit on that close
 * if it had one: exits never wait. An entry waits for its turn (`turn`): the round of that close
 * opens once every market of the account has reported the close (or a later one), or once
 * `waitMs` of the injected clock has passed since the round's first entry asked: a market whose
 * data is late or stale holds the others back no longer than that. A close that market reports
 * after its round opened is granted on arrival, after the entries already granted; its entry is
 * then planned against the account as they left it (the backtest, which has every candle, may
 * differ there: the bound trades exactness for never blocking on one silent market).
 */

import { sameCloseOrder } from "./core/portfolio.ts";
import type { Clock, Store } from "./ports.ts";

/** Default most time (the injected clock's) an entry waits for the other markets' close. */
export const SAME_CLOSE_WAIT_MS = 10_000;

interface Waiter {
  readonly market: string;
  readonly grant: (done: () => void) => void;
}

interface Round {
  readonly closeMs: number;
  readonly markets: readonly string[];
  readonly waiting: Waiter[];
  open: boolean;
  /** An entry of this round is being planned and sent. */
  busy: boolean;
  /** The deadline's sleep has started. */
  timed: boolean;
  /** Ends the deadline's sleep once the round opens. */
  readonly deadline: AbortController;
}

/** The rounds of one store's traders. */
export class CloseRounds {
  /** The newest close each market reported. */
  readonly #passed = new Map<string, number>();
  readonly #rounds = new Map<number, Round>();
  #listeners: (() => void)[] = [];
  /** Rounds opened by their deadline (a market late or silent), since start. */
  openedByDeadline = 0;

  /** Markets whose entry waits for its turn now. */
  waiting(): string[] {
    const out: string[] = [];
    for (const round of this.#rounds.values()) for (const w of round.waiting) out.push(w.market);
    return out;
  }

  /** Resolves at the next change of who waits (an entry parks or is granted). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#listeners.push(resolve));
  }

  /** `market` has decided the close at `closeMs` (its exit on that close, if any, is done). */
  arrive(market: string, closeMs: number): void {
    if ((this.#passed.get(market) ?? -Infinity) >= closeMs) return;
    this.#passed.set(market, closeMs);
    for (const round of [...this.#rounds.values()]) {
      if (!round.open && this.#complete(round)) this.#open(round);
    }
  }

  /**
   * Waits for `market`'s turn to enter on the close at `closeMs`; resolves with `done`, to call
   * once the entry's reservation is taken (or the entry turned down), which lets the next market go.
   */
  turn(
    market: string,
    options: {
      readonly closeMs: number;
      /** The account's markets in their configured order. */
      readonly markets: readonly string[];
      readonly clock: Clock;
      readonly waitMs: number;
    },
  ): Promise<() => void> {
    const { closeMs, markets, clock, waitMs } = options;
    let round = this.#rounds.get(closeMs);
    if (round === undefined) {
      round = {
        closeMs,
        markets,
        waiting: [],
        open: false,
        busy: false,
        timed: false,
        deadline: new AbortController(),
      };
      this.#rounds.set(closeMs, round);
    }
    const r = round;
    const granted = new Promise<() => void>((resolve) => {
      r.waiting.push({ market, grant: resolve });
    });
    this.#notify();
    // The entrant has decided this close too.
    this.arrive(market, closeMs);
    if (!r.open && this.#complete(r)) this.#open(r);
    else if (r.open) this.#next(r);
    else if (!r.timed) {
      r.timed = true;
      clock.sleep(waitMs, r.deadline.signal).then(() => {
        if (r.open || r.deadline.signal.aborted) return;
        this.openedByDeadline++;
        this.#open(r);
      });
    }
    return granted;
  }

  #complete(round: Round): boolean {
    return round.markets.every((m) => (this.#passed.get(m) ?? -Infinity) >= round.closeMs);
  }

  #open(round: Round): void {
    round.open = true;
    round.deadline.abort();
    this.#next(round);
  }

  /** Grants the next entry of an open round in the same-close order, one at a time. */
  #next(round: Round): void {
    if (round.busy) return;
    if (round.waiting.length === 0) {
      this.#rounds.delete(round.closeMs);
      return;
    }
    const [first] = sameCloseOrder(round.waiting, round.markets);
    round.waiting.splice(round.waiting.indexOf(first!), 1);
    round.busy = true;
    let finished = false;
    first!.grant(() => {
      if (finished) return;
      finished = true;
      round.busy = false;
      this.#next(round);
    });
    this.#notify();
  }

  #notify(): void {
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const l of listeners) l();
  }
}

const ROUNDS = new WeakMap<Store, CloseRounds>();

/** The one set of same-close rounds of `store` in this process (created on first use). */
export function roundsOf(store: Store): CloseRounds {
  let rounds = ROUNDS.get(store);
  if (rounds === undefined) {
    rounds = new CloseRounds();
    ROUNDS.set(store, rounds);
  }
  return rounds;
}
