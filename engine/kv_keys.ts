/**
 * Every Deno KV key of the engine, built here and nowhere else (STYLE.md §Deno KV).
 *
 * Layout (values are objects with `v: 1`, parsed with zod; money as exact decimal strings):
 *
 * | Key | Value |
 * |---|---|
 * | `["intent", id]` | the order intent (reliability.md §1.6) |
 * | `["ident", identifier]` | intent id; inserted with `versionstamp: null`, so an identifier is used once |
 * | `["intent_by_state", state, id]` | intent id; moved in the same commit as every state change |
 * | `["inflight", market]` | intent id of the market's one live intent (one order in flight per market) |
 * | `["order", uuid]` | intent id (or null for an adopted order) and the fees already split over its fills |
 * | `["fill", orderUuid, tradeUuid]` | one fill; inserted with `versionstamp: null` together with the ledger change |
 * | `["fill_at", tsMs, orderUuid, tradeUuid]` | the same fill, by time: the trades page reads one page of it (newest first) |
 * | `["fill_at_ready"]` | every fill older than this index is in it (set once, after the back-fill) |
 * | `["ledger", market]` | the market's ledger (position, avg price, cost, cash, realized P&L, fees) |
 * | `["balance", currency]` | the account total the fills say we hold (seeded once from the exchange) |
 * | `["equity", market, tsMs]` | an equity snapshot of one market (each candle close and fill; pruned after 30 days) |
 * | `["signal", market, signalId]` | a strategy signal, recorded once; pruned after 35 days |
 * | `["pnl_day", dayStartMs]` | realized P&L of one Upbit day (00:00 UTC), updated with each fill; pruned after 400 days |
 * | `["pnl_day_market", dayStartMs, market]` | the same, of one market |
 * | `["account", "reservations"]` | KRW reserved for the buys in flight, one per market (the cap counts them); ONE key so a commit can check them all |
 * | `["account", "guard"]` | the account's daily loss guard (day, starting equity, blocked) |
 * | `["settings", "control"]` | the paused, safe-mode and halted (emergency stop) flags |
 * | `["settings", "params"]` | the run-time parameter overrides in force, versioned |
 * | `["params_history", version]` | one change of a run-time parameter (who, from, to, when); pruned after 365 days |
 * | `["settings", "run"]` | what the bot last ran with (bot id, mode, markets, strategy, rules) |
 * | `["audit", atMs, id]` | the operator's audit log: who, what, when, result; pruned after 365 days |
 * | `["trader", botId]` | the trading loop's state: day guard, exit levels, cooldown, last decision |
 * | `["events", tsMs, seq]` | the journal: every engine event, committed with its state change; pruned after 35 days |
 * | `["marker"]` | the last change (ms, what): one key to `kv.watch` for "something changed" |
 * | `["instance"]` | who holds the instance lock (pid, since): informative; the OS file lock excludes |
 * | `["lease"]` | the KV lease: holder (random per process), label, epoch, expiry; order commits check its versionstamp (kv_lease.ts) |
 * | `["meta"]` | whose store this is: bot id, mode, markets, account hash (never the key), creator |
 * | `["chat_update", updateId]` | a Telegram update already handled (seen at); expires after 48 h |
 * | `["chat_command", updateId]` | a Telegram command the worker has yet to run (request, received at); 1 h |
 * | `["chat_confirm", nonce]` | a destructive chat command waiting for its Confirm button (60 s) |
 * | `["chat_outbox_cursor"]` | the last journal id the Telegram notification outbox handled |
 * | `["web_session", idHash]` | a status-page session (SHA-256 of the cookie's id, never the id); expires |
 * | `["web_login_fail", scope, atMs, id]` | one failed status-page login (scope: client address or `*`); expires after 2 h |
 * | `["candle", market, startMs]` | a final 1-minute candle the loop traded on (or warmed up on); pruned after 35 days |
 * | `["daily_report", dayStartMs]` | the marker of the issued daily report of one Upbit day; inserted with `versionstamp: null` in the commit of its `DailyReport` event; pruned after 400 days |
 * | `["run_log", startedAtMs]` | one run of the bot: start, last heartbeat (each minute), clean end; pruned after 35 days |
 * | `["rate_limited", dayStartMs]` | how many 429/418 answers Upbit gave on one Upbit day (a `Deno.KvU64` summed in place); pruned after 400 days |
 * | `["watchdog", check, market]` | whether the watchdog's check (loop, market data) is alerted; changed in the commit of its `WatchdogAlert` event |
 */

/** A KV key tuple. */
export type Key = Deno.KvKey;

/** `["intent", id]`. */
export function intentKey(id: string): Key {
  return ["intent", id];
}

/** Prefix of every intent. */
export function intentPrefix(): Key {
  return ["intent"];
}

/** `["ident", identifier]`. */
export function identKey(identifier: string): Key {
  return ["ident", identifier];
}

/** `["intent_by_state", state, id]`. */
export function intentByStateKey(state: string, id: string): Key {
  return ["intent_by_state", state, id];
}

/** Prefix of the index of one state. */
export function intentByStatePrefix(state: string): Key {
  return ["intent_by_state", state];
}

/** `["inflight", market]`. */
export function inflightKey(market: string): Key {
  return ["inflight", market];
}

/** `["order", uuid]`. */
export function orderKey(uuid: string): Key {
  return ["order", uuid];
}

/** `["fill", orderUuid, tradeUuid]`. */
export function fillKey(orderUuid: string, tradeUuid: string): Key {
  return ["fill", orderUuid, tradeUuid];
}

/** Prefix of the fills of one order, or of all fills. */
export function fillPrefix(orderUuid?: string): Key {
  return orderUuid === undefined ? ["fill"] : ["fill", orderUuid];
}

/** `["fill_at", tsMs, orderUuid, tradeUuid]`: a fill by time. */
export function fillAtKey(tsMs: number, orderUuid: string, tradeUuid: string): Key {
  return ["fill_at", tsMs, orderUuid, tradeUuid];
}

/** Prefix of the fills by time. */
export function fillAtPrefix(): Key {
  return ["fill_at"];
}

/** `["fill_at_ready"]`: the by-time index holds every fill. */
export function fillAtReadyKey(): Key {
  return ["fill_at_ready"];
}

/** `["ledger", market]`. */
export function ledgerKey(market: string): Key {
  return ["ledger", market];
}

/** `["balance", currency]`. */
export function balanceKey(currency: string): Key {
  return ["balance", currency];
}

/** Prefix of every balance. */
export function balancePrefix(): Key {
  return ["balance"];
}

/** `["equity", market, tsMs]`. */
export function equityKey(market: string, tsMs: number): Key {
  return ["equity", market, tsMs];
}

/** Prefix of the equity curve of one market, or of all. */
export function equityPrefix(market?: string): Key {
  return market === undefined ? ["equity"] : ["equity", market];
}

/** `["settings", "params"]`. */
export function paramsKey(): Key {
  return ["settings", "params"];
}

/** `["params_history", version]`. */
export function paramHistoryKey(version: number): Key {
  return ["params_history", version];
}

/** Prefix of the parameter history. */
export function paramHistoryPrefix(): Key {
  return ["params_history"];
}

/** `["settings", "run"]`. */
export function runRecordKey(): Key {
  return ["settings", "run"];
}

/** `["audit", atMs, id]`. */
export function auditKey(atMs: number, id: string): Key {
  return ["audit", atMs, id];
}

/** Prefix of the audit log. */
export function auditPrefix(): Key {
  return ["audit"];
}

/** `["signal", market, signalId]`. */
export function signalKey(market: string, signalId: string): Key {
  return ["signal", market, signalId];
}

/** `["pnl_day", dayStartMs]`. */
export function pnlDayKey(dayStartMs: number): Key {
  return ["pnl_day", dayStartMs];
}

/** `["pnl_day_market", dayStartMs, market]`. */
export function pnlDayMarketKey(dayStartMs: number, market: string): Key {
  return ["pnl_day_market", dayStartMs, market];
}

/** `["account", "reservations"]`. */
export function reservationsKey(): Key {
  return ["account", "reservations"];
}

/** Prefix of every ledger. */
export function ledgerPrefix(): Key {
  return ["ledger"];
}

/** `["account", "guard"]`. */
export function accountGuardKey(): Key {
  return ["account", "guard"];
}

/** `["settings", "control"]`. */
export function controlKey(): Key {
  return ["settings", "control"];
}

/** `["trader", botId]`. */
export function traderKey(botId: string): Key {
  return ["trader", botId];
}

/** `["events", tsMs, seq]`. */
export function eventKey(tsMs: number, seq: number): Key {
  return ["events", tsMs, seq];
}

/** Prefix of the event journal. */
export function eventPrefix(): Key {
  return ["events"];
}

/** `["marker"]`. */
export function markerKey(): Key {
  return ["marker"];
}

/** `["instance"]`. */
export function instanceKey(): Key {
  return ["instance"];
}

/** `["lease"]`. */
export function leaseKey(): Key {
  return ["lease"];
}

/** `["meta"]`. */
export function metaKey(): Key {
  return ["meta"];
}

/** `["chat_update", updateId]`. */
export function chatUpdateKey(updateId: number): Key {
  return ["chat_update", updateId];
}

/** `["chat_command", updateId]`. */
export function chatCommandKey(updateId: number): Key {
  return ["chat_command", updateId];
}

/** `["chat_command"]`: every waiting chat command. */
export function chatCommandPrefix(): Key {
  return ["chat_command"];
}

/** `["chat_outbox_cursor"]`. */
export function chatOutboxCursorKey(): Key {
  return ["chat_outbox_cursor"];
}

/** `["chat_confirm", nonce]`. */
export function chatConfirmKey(nonce: string): Key {
  return ["chat_confirm", nonce];
}

/** `["web_session", idHash]`. */
export function webSessionKey(idHash: string): Key {
  return ["web_session", idHash];
}

/** `["web_login_fail", scope, atMs, id]`. */
export function webLoginFailKey(scope: string, atMs: number, id: string): Key {
  return ["web_login_fail", scope, atMs, id];
}

/** Prefix of the failed logins of one scope. */
export function webLoginFailPrefix(scope: string): Key {
  return ["web_login_fail", scope];
}

/** `["candle", market, startMs]`. */
export function candleKey(market: string, startMs: number): Key {
  return ["candle", market, startMs];
}

/** Prefix of the recorded candles of one market. */
export function candlePrefix(market: string): Key {
  return ["candle", market];
}

/** `["daily_report", dayStartMs]`. */
export function dailyReportKey(dayStartMs: number): Key {
  return ["daily_report", dayStartMs];
}

/** Prefix of the daily report markers. */
export function dailyReportPrefix(): Key {
  return ["daily_report"];
}

/** `["run_log", startedAtMs]`. */
export function runLogKey(startedAtMs: number): Key {
  return ["run_log", startedAtMs];
}

/** Prefix of the run log. */
export function runLogPrefix(): Key {
  return ["run_log"];
}

/** `["rate_limited", dayStartMs]`. */
export function rateLimitedKey(dayStartMs: number): Key {
  return ["rate_limited", dayStartMs];
}

/** Prefix of the daily counts of 429/418 answers. */
export function rateLimitedPrefix(): Key {
  return ["rate_limited"];
}

/** `["watchdog", check, market]`. */
export function watchdogKey(check: string, market: string): Key {
  return ["watchdog", check, market];
}
