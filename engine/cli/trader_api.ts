/**
 * The trading loop as the run command uses it (`engine/trader.ts`), injected so the command can
 * be tested with a stand-in; `main.ts` passes the real module. Operator commands and status go
 * through `engine/operator/`, not through this.
 */

import type * as trader from "../trader.ts";

export type { TraderConfig, TraderDeps } from "../trader.ts";

/** The engine functions the run command calls. */
export interface TraderApi {
  readonly runTrader: typeof trader.runTrader;
}
