/**
 * The trader's operations as the commands use them (`engine/trader.ts`), injected so the
 * commands can be tested with a stand-in; `main.ts` passes the real module.
 */

import type * as trader from "../trader.ts";

export type { TraderConfig, TraderDeps } from "../trader.ts";

/** The engine functions the commands call. */
export interface TraderApi {
  readonly runTrader: typeof trader.runTrader;
  readonly pauseTrading: typeof trader.pauseTrading;
  readonly resumeTrading: typeof trader.resumeTrading;
  readonly emergencyStop: typeof trader.emergencyStop;
  readonly traderStatus: typeof trader.traderStatus;
}

/** What a running bot answers to `POST /stop`: one report per market, then the status. */
export interface StopAnswer {
  readonly reports: readonly (trader.EmergencyStopReport & { readonly market: string })[];
  readonly status: readonly trader.TraderStatus[];
}
