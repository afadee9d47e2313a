/**
 * The operator's commands: pause, resume, emergency stop, selling one market's position and
 * run-time parameter changes. Each
 * runs under the order gate (`exclusive`: it waits for the order in flight and no order handling
 * starts until it is done), so an emergency stop never meets a submit halfway and, once it has
 * committed the halt, every later submit is refused (`halted`).
 *
 * Without an exchange (the bot is stopped and ctl works on its store) a stop can only halt and
 * pause (cancelling needs the bot's exchange); a resume clears the switches and the safety
 * checks run when the bot starts (it reconciles before any order).
 */

import { formatUnits, parseUnits, SCALE, unitsFromNumber } from "../core/money.ts";
import { formatKrw } from "../core/format.ts";
import {
  DEFAULT_ORDER_MANAGER_CONFIG,
  driveIntent,
  type OrderManagerConfig,
  type OrderManagerDeps,
  reconcile,
  submitOrder,
} from "../order_manager.ts";
import type { Account, Clock, Exchange, Notifier, RunRecord, Store } from "../ports.ts";
import { LIVE_INTENT_STATES } from "../ports.ts";
import { describeSubmitDenial, orderManagerConfigOf, type TraderConfig } from "../trader.ts";
import { gateOf } from "../order_gate.ts";
import { errorLine } from "../errors.ts";
import { parseRuntimeParam } from "../config.ts";
import { settingsOf } from "./read_models.ts";

/** What the commands use. */
export interface CommandDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly notifier: Notifier;
  /** The running bot's exchange; absent on a stopped bot's store. */
  readonly exchange?: Exchange & Account;
  /** Checks the stored state's invariants (throws naming key and field); run before a resume. */
  readonly checkState?: () => Promise<void>;
}

/** How a command ended and one line of what it did (or why not). */
export interface CommandEnd {
  readonly result: "done" | "refused" | "failed";
  readonly detail: string;
}

/** What an emergency stop did on one market. */
export interface StopReport {
  readonly market: string;
  /** Uuids of our open orders that were cancelled. */
  readonly cancelled: readonly string[];
  /** The sale of the position (null when not asked for or nothing was held). */
  readonly sold: {
    readonly volume: string;
    readonly funds: string;
    readonly state: string;
  } | null;
  /** What went wrong, one line each. */
  readonly errors: readonly string[];
}

/** The order manager's view of one traded market (config from the run record when stopped). */
function omConfigOf(
  run: RunRecord,
  market: string,
  traders?: readonly TraderConfig[],
): OrderManagerConfig {
  const running = traders?.find((t) => t.market === market);
  if (running !== undefined) return orderManagerConfigOf(running);
  const ref = run.traders.find((t) => t.market === market);
  return { ...DEFAULT_ORDER_MANAGER_CONFIG, botId: ref?.botId ?? run.botId, feeBps: run.feeBps };
}

/** `{ actor }` when there is one: the `StateChanged` event names who caused it. */
function byActor(actor: string | undefined): { readonly actor?: string } {
  return actor === undefined ? {} : { actor };
}

/** Kill switch on: no new entries (exits stay allowed); `actor` is who asked. */
export async function pause(
  deps: CommandDeps,
  reason: string,
  actor?: string,
): Promise<CommandEnd> {
  return await gateOf(deps.store).exclusive(async () => {
    const atMs = deps.clock.nowMs();
    const control = await deps.store.setControl({ paused: true, reason, ...byActor(actor) }, atMs);
    deps.notifier.notify({ type: "StateChanged", atMs, ...control, ...byActor(actor) });
    return { result: "done", detail: `paused: ${reason}` };
  });
}

/**
 * Clears the pause and the halt after the safety checks pass: the stored state's invariants
 * (when the store can check them) and, with a running bot, a reconciliation (unresolved orders
 * resolved, balances compared); a failure refuses the resume and leaves trading as it was. Safe mode is cleared only when asked and the checks pass.
 */
export async function resume(
  deps: CommandDeps,
  options: {
    readonly run: RunRecord;
    readonly traders?: readonly TraderConfig[];
    readonly clearSafeMode: boolean;
    readonly actor?: string;
  },
): Promise<CommandEnd> {
  const { store, clock, notifier, exchange } = deps;
  return await gateOf(store).exclusive(async () => {
    let checks = "stored state checked; orders and balances are reconciled when the bot starts";
    if (deps.checkState !== undefined) {
      try {
        await deps.checkState();
      } catch (error) {
        return { result: "refused", detail: `safety check failed: ${errorLine(error)}` };
      }
    } else {
      checks = "orders and balances are reconciled when the bot starts";
    }
    if (exchange !== undefined) {
      const first = options.run.traders[0]!;
      const om: OrderManagerDeps = { exchange, store, clock, notifier };
      const report = await reconcile(om, omConfigOf(options.run, first.market, options.traders), {
        account: exchange,
      });
      if (report.mismatches.length > 0) {
        const text = report.mismatches.map((m) =>
          `${m.currency} ledger ${formatUnits(m.ledger)} vs exchange ${formatUnits(m.exchange)}`
        ).join(", ");
        return { result: "refused", detail: `safety check failed: balances differ: ${text}` };
      }
      const live = await store.listIntents(LIVE_INTENT_STATES);
      if (live.some((i) => i.state !== "OPEN")) {
        return {
          result: "refused",
          detail: `safety check failed: ${live.length} order(s) still unresolved; try again`,
        };
      }
      checks = deps.checkState === undefined
        ? "reconciliation passed"
        : "stored state checked, reconciliation passed";
    }
    const before = await store.getControl();
    const clear = options.clearSafeMode;
    const atMs = clock.nowMs();
    const control = await store.setControl({
      paused: false,
      halted: false,
      ...(clear ? { safeMode: false } : {}),
      reason: clear ? "resumed, safe mode cleared" : "resumed",
      ...byActor(options.actor),
    }, atMs);
    notifier.notify({ type: "StateChanged", atMs, ...control, ...byActor(options.actor) });
    const safe = control.safeMode
      ? "; safe mode stays on (resume --clear-safe-mode after checking)"
      : before.safeMode
      ? "; safe mode cleared"
      : "";
    return { result: "done", detail: `resumed (${checks})${safe}` };
  });
}

/** The reason a stop's first step records (paused while it cancels and sells); the halt follows. */
export const STOPPING_REASON = "emergency stop in progress";

/**
 * Emergency stop: waits for the order in flight, cancels our open orders on every market
 * (external orders are left alone), reads what filled, sells the positions when asked, then
 * halts: no order at all (exits included) until a resume.
 */
export async function emergencyStop(
  deps: CommandDeps,
  options: {
    readonly run: RunRecord;
    readonly traders?: readonly TraderConfig[];
    readonly sell: boolean;
    readonly actor?: string;
  },
): Promise<CommandEnd & { readonly reports: readonly StopReport[] }> {
  const { store, clock, notifier, exchange } = deps;
  return await gateOf(store).exclusive(async () => {
    const atMs = clock.nowMs();
    await store.setControl(
      { paused: true, reason: STOPPING_REASON, ...byActor(options.actor) },
      atMs,
    );
    const reports: StopReport[] = [];
    if (exchange !== undefined) {
      const om: OrderManagerDeps = { exchange, store, clock, notifier };
      for (const t of options.run.traders) {
        reports.push(
          await stopMarket(om, {
            market: t.market,
            botId: t.botId,
            sell: options.sell,
            omConfig: omConfigOf(options.run, t.market, options.traders),
            signalId: `emergency@${atMs}`,
          }),
        );
      }
    }
    const control = await store.setControl({
      paused: true,
      halted: true,
      reason: "emergency stop",
      ...byActor(options.actor),
    }, clock.nowMs());
    notifier.notify({
      type: "StateChanged",
      atMs: clock.nowMs(),
      ...control,
      ...byActor(options.actor),
    });
    const errors = reports.flatMap((r) => r.errors.map((e) => `${r.market}: ${e}`));
    if (exchange === undefined) {
      return {
        result: "done",
        reports,
        detail: "halted and paused; no bot is running, so no order was cancelled" +
          (options.sell ? " or sold" : "") + " (start the bot and stop again to do that)",
      };
    }
    return {
      result: errors.length === 0 ? "done" : "failed",
      reports,
      detail: errors.length === 0
        ? `halted: ${reports.map(stopLine).join("; ")}`
        : `halted, INCOMPLETE: ${errors.join("; ")}`,
    };
  });
}

/** One line of what the stop did on a market. */
function stopLine(r: StopReport): string {
  const cancelled = `${r.cancelled.length} order${r.cancelled.length === 1 ? "" : "s"} cancelled`;
  const sold = r.sold === null
    ? ""
    : `, sold ${r.sold.volume} for ${formatKrw(parseUnits(r.sold.funds))} KRW`;
  return `${r.market}: ${cancelled}${sold}`;
}

async function stopMarket(
  om: OrderManagerDeps,
  ctx: {
    readonly market: string;
    readonly botId: string;
    readonly sell: boolean;
    readonly omConfig: OrderManagerConfig;
    /** The sale's signal id (one intent per id). */
    readonly signalId: string;
  },
): Promise<StopReport> {
  const { store, exchange } = om;
  const { market } = ctx;
  const cancelled: string[] = [];
  const errors: string[] = [];
  try {
    for (const order of await exchange.openOrders(market)) {
      const ours = order.identifier !== undefined &&
        (await store.getIntent({ identifier: order.identifier })) !== undefined;
      if (!ours) continue;
      try {
        const res = await exchange.cancelOrder({ uuid: order.uuid });
        if (res.ok) cancelled.push(order.uuid);
        else errors.push(`cancel ${order.uuid}: ${res.error.name}`);
      } catch (error) {
        errors.push(`cancel ${order.uuid}: ${errorLine(error)}`);
      }
    }
    // Read the cancels (and whatever filled before them) into the ledger.
    for (const intent of await store.listIntents(LIVE_INTENT_STATES)) {
      if (intent.market !== market) continue;
      await driveIntent(om, ctx.omConfig, intent, { send: false, waitForFills: false });
    }
  } catch (error) {
    errors.push(`cancel: ${errorLine(error)}`);
  }
  let sold: StopReport["sold"] = null;
  const ledger = await store.getLedger(market);
  if (ctx.sell && ledger !== undefined && ledger.qty > 0n) {
    const state = await store.getTraderState(ctx.botId);
    const price = state !== undefined && state.lastPrice > 0
      ? unitsFromNumber(state.lastPrice)
      : ledger.avgPrice;
    try {
      const res = await submitOrder(om, ctx.omConfig, {
        kind: "market_sell",
        market,
        signalId: ctx.signalId,
        volume: ledger.qty,
        referencePrice: price,
      }, { emergency: true });
      if (!res.ok) {
        errors.push(`sell: ${describeSubmitDenial(res.error)}`);
      } else {
        const { intent } = res.value;
        sold = {
          volume: formatUnits(intent.filledVolume),
          funds: formatUnits(intent.filledFunds),
          state: intent.state,
        };
        const after = await store.getLedger(market);
        if (after !== undefined) {
          // The sale is a fill: the equity curve gets its point, as for the loop's fills.
          const atMs = om.clock.nowMs();
          const equity = after.cash + (after.qty * price) / SCALE;
          await store.recordEquity({ market, tsMs: atMs, equity, cash: after.cash });
        }
        if (intent.state !== "FILLED") errors.push(`sell: order ${intent.state.toLowerCase()}`);
      }
    } catch (error) {
      errors.push(`sell: ${errorLine(error)}`);
    }
  }
  return { market, cancelled, sold, errors };
}

/**
 * Sells one market's position at market: waits for the order in flight, cancels our open orders
 * there, reads what filled, then sells what the ledger holds (allowed while paused, halted or in
 * safe mode: it only closes). Trading goes on: the strategy may enter again on its next buy
 * signal (pause first to prevent that). Refused for a market the bot does not trade, with no
 * bot running (selling needs its exchange) or with nothing to sell.
 */
export async function sellMarket(
  deps: CommandDeps,
  options: {
    readonly run: RunRecord;
    readonly traders?: readonly TraderConfig[];
    readonly market: string;
  },
): Promise<CommandEnd & { readonly reports: readonly StopReport[] }> {
  const { store, clock, notifier, exchange } = deps;
  const { market } = options;
  const ref = options.run.traders.find((t) => t.market === market);
  if (ref === undefined) {
    const traded = options.run.traders.map((t) => t.market).join(", ");
    return { result: "refused", reports: [], detail: `${market}: not traded (${traded})` };
  }
  if (exchange === undefined) {
    return {
      result: "refused",
      reports: [],
      detail: `${market}: no bot is running; selling needs its exchange (start the bot first)`,
    };
  }
  return await gateOf(store).exclusive(async () => {
    const atMs = clock.nowMs();
    const om: OrderManagerDeps = { exchange, store, clock, notifier };
    const report = await stopMarket(om, {
      market,
      botId: ref.botId,
      sell: true,
      omConfig: omConfigOf(options.run, market, options.traders),
      signalId: `operator-sell@${atMs}`,
    });
    if (report.errors.length > 0) {
      return {
        result: "failed",
        reports: [report],
        detail: `${market}: INCOMPLETE: ${report.errors.join("; ")}`,
      };
    }
    if (report.sold === null && report.cancelled.length === 0) {
      return { result: "refused", reports: [report], detail: `${market}: no position to sell` };
    }
    return { result: "done", reports: [report], detail: stopLine(report) };
  });
}

/**
 * Validates a run-time parameter change with the start-up config's schema and stores it
 * (versioned, with its history); the traders apply it at their next candle close.
 */
export async function setParam(
  deps: CommandDeps,
  options: {
    readonly run: RunRecord;
    readonly name: string;
    /** The new value as text, or null to remove the override (back to the start-up value). */
    readonly value: string | null;
    readonly actor: string;
  },
): Promise<CommandEnd> {
  const { store, clock } = deps;
  return await gateOf(store).exclusive(async () => {
    const { name } = options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const params = await store.getParams();
      const settings = settingsOf(options.run, params);
      let value: number | null = null;
      if (options.value !== null) {
        const parsed = parseRuntimeParam(name, options.value, {
          strategy: options.run.strategy,
          strategyParams: settings.strategyParams,
        });
        if (!parsed.ok) return { result: "refused", detail: parsed.error };
        value = parsed.value;
      } else if (!(name in params.values)) {
        return { result: "refused", detail: `${name.slice(0, 40)}: no override to remove` };
      }
      const next = await store.setParam(
        { name, value, actor: options.actor, atMs: clock.nowMs() },
        params.version,
      );
      if (next !== undefined) {
        return {
          result: "done",
          detail: value === null
            ? `${name}: override removed (v${next.version}); the start-up value applies from the next candle close`
            : `${name} = ${value} (v${next.version}); applied at the next candle close`,
        };
      }
    }
    return { result: "failed", detail: `${name}: the parameters kept changing; try again` };
  });
}
