/**
 * A fake Telegram Bot API server for tests: real HTTP on `127.0.0.1:0`, answering
 * `POST|GET /bot<token>/<method>` with the Bot API's envelopes (`{ok: true, result}` or
 * `{ok: false, error_code, description, parameters?}`), parameters as JSON, form or query, and
 * method names case-insensitive, as the real one. It records every call, faulted ones included.
 *
 * Methods: `getMe`, `sendMessage`, `editMessageText`, `answerCallbackQuery`, `setWebhook`,
 * `deleteWebhook`, `getWebhookInfo`, `getUpdates` (long polling with `offset`, `limit`, `timeout`;
 * a newer request ends an older one with 409, and a set webhook refuses it with 409, as Telegram
 * does) and `setMyCommands`. Updates for polling are queued with `queueUpdate`.
 *
 * Faults (`setFault`), for all methods or some, for ever or the next `times` calls:
 * - `fail`: a 5xx answer (`500 Internal Server Error` in the API's envelope);
 * - `rate_limit`: `429 Too Many Requests: retry after N` with `parameters.retry_after`;
 * - `timeout`: the request is read and never answered (until the client gives up or the fault
 *   is cleared, then it is answered normally);
 * - `down`: the listener is closed, so connections are refused; `setFault(null)` listens again
 *   on the same port.
 */

/** The bot the fake is (`getMe`). */
export const FAKE_BOT_INFO = {
  id: 7_000_000_001,
  is_bot: true as const,
  first_name: "Upbit Trader",
  username: "upbit_trader_test_bot",
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};

/** A fault the fake injects. */
export type FakeFault =
  | { readonly kind: "fail"; readonly status?: 500 | 502 | 503 }
  | { readonly kind: "rate_limit"; readonly retryAfterS: number }
  | { readonly kind: "timeout" }
  | { readonly kind: "down" };

/** Which calls a fault hits. */
export interface FaultScope {
  /** Only these methods (lower or mixed case); all when absent. */
  readonly methods?: readonly string[];
  /** Only the next `times` matching calls; every one when absent. */
  readonly times?: number;
}

/** One recorded call. */
export interface FakeCall {
  /** As the client spelled it. */
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Whether the path carried the fake's token. */
  readonly tokenOk: boolean;
  /** The HTTP status answered (0: never answered, a `timeout` fault). */
  status: number;
  /** The fault that hit it, if any. */
  readonly fault: FakeFault["kind"] | null;
  /** Wall clock when it arrived. */
  readonly atMs: number;
}

/** A message the fake holds (what it sent on the bot's behalf). */
export interface FakeMessage {
  readonly message_id: number;
  readonly chat_id: number | string;
  text: string;
  reply_markup: unknown;
}

/** The running fake. */
export interface FakeBotApi {
  /** The `apiRoot` to give the client (`http://127.0.0.1:<port>`, no trailing slash). */
  readonly apiRoot: string;
  readonly token: string;
  /** Every call, in arrival order. */
  readonly calls: FakeCall[];
  /** The messages sent, by id (edits change them in place). */
  readonly messages: Map<number, FakeMessage>;
  /** The webhook set (url and secret), or null. */
  readonly webhook: { url: string; secretToken: string | null } | null;
  /** The calls of one method (case-insensitive), in order. */
  callsOf(method: string): FakeCall[];
  /** The texts of every answered `sendMessage`, in order. */
  sentTexts(): string[];
  /** Queues an update for `getUpdates` (its `update_id` given or the next one). */
  queueUpdate(update: Record<string, unknown>): number;
  /** Injects a fault (null clears it; a `down` fake listens again). */
  setFault(fault: FakeFault | null, scope?: FaultScope): Promise<void>;
  /** Stops listening and ends every pending request. */
  close(): Promise<void>;
}

interface ApiError {
  ok: false;
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
}

type Answer = { readonly status: number; readonly body: unknown };

const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

function ok(result: unknown, description?: string): Answer {
  return {
    status: 200,
    body: description === undefined ? { ok: true, result } : { ok: true, result, description },
  };
}

function err(code: number, description: string, parameters?: ApiError["parameters"]): Answer {
  const body: ApiError = { ok: false, error_code: code, description };
  if (parameters !== undefined) body.parameters = parameters;
  return { status: code, body };
}

async function paramsOf(req: Request, url: URL): Promise<Record<string, unknown>> {
  const params: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) params[k] = parseField(v);
  if (req.method !== "POST") return params;
  const type = req.headers.get("content-type") ?? "";
  const text = await req.text();
  if (text === "") return params;
  if (type.includes("application/json")) {
    Object.assign(params, JSON.parse(text));
  } else if (type.includes("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(text)) params[k] = parseField(v);
  }
  return params;
}

/** Form and query fields arrive as text; the Bot API reads JSON-looking ones as JSON. */
function parseField(value: string): unknown {
  if (/^[[{]/.test(value) || /^-?\d+$/.test(value) || value === "true" || value === "false") {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

/** Bot API update `updateId`: the command `text` from user `from` in their private chat, dated now. */
export function commandUpdate(
  updateId: number,
  from: number,
  text: string,
): Record<string, unknown> {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      from: { id: from, is_bot: false, first_name: "Owner" },
      chat: { id: from, type: "private" },
      date: Math.floor(Date.now() / 1000),
      text,
      entities: [{ type: "bot_command", offset: 0, length: text.split(" ")[0]!.length }],
    },
  };
}

/** Starts the fake on `127.0.0.1:0` with `token` (a made-up one by default). */
export function startFakeBotApi(
  options: { readonly token?: string; readonly botInfo?: typeof FAKE_BOT_INFO } = {},
): Promise<FakeBotApi> {
  const token = options.token ?? "123456789:AAFakeTokenForTestsOnly_abcdefghijklm";
  const botInfo = options.botInfo ?? FAKE_BOT_INFO;
  const calls: FakeCall[] = [];
  const messages = new Map<number, FakeMessage>();
  const queue: Record<string, unknown>[] = [];
  let nextUpdateId = 1;
  let nextMessageId = 1;
  let webhook: { url: string; secretToken: string | null } | null = null;
  let fault: { fault: FakeFault; methods: Set<string> | null; left: number } | null = null;
  /** Requests held open: a `timeout` fault's and a long poll's; each resolves when released. */
  const held = new Set<() => void>();
  let poller: (() => void) | null = null;
  let server: Deno.HttpServer | null = null;
  let port = 0;
  /** Set while the listener shuts down: held requests end at once. */
  let stopping = false;

  function faultFor(method: string): FakeFault | null {
    if (fault === null) return null;
    if (fault.methods !== null && !fault.methods.has(method.toLowerCase())) return null;
    if (fault.left === 0) return null;
    if (fault.left > 0) fault.left--;
    return fault.fault;
  }

  /** Waits until released (an update, a fault change, a shutdown) or `ms` elapsed. */
  function hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        held.delete(release);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(release, ms);
      held.add(release);
    });
  }

  function wakeAll(): void {
    for (const release of [...held]) release();
  }

  function message(params: Record<string, unknown>, text: string): FakeMessage & { date: number } {
    const id = nextMessageId++;
    const m = {
      message_id: id,
      chat_id: params.chat_id as number,
      text,
      reply_markup: params.reply_markup ?? null,
    };
    messages.set(id, m);
    return { ...m, date: Math.floor(Date.now() / 1000) };
  }

  function wire(m: FakeMessage, date: number): Record<string, unknown> {
    const out: Record<string, unknown> = {
      message_id: m.message_id,
      from: {
        id: botInfo.id,
        is_bot: true,
        first_name: botInfo.first_name,
        username: botInfo.username,
      },
      chat: { id: m.chat_id, type: "private" },
      date,
      text: m.text,
    };
    if (m.reply_markup !== null) out.reply_markup = m.reply_markup;
    return out;
  }

  async function getUpdates(params: Record<string, unknown>): Promise<Answer> {
    if (webhook !== null) {
      return err(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    const offset = typeof params.offset === "number" ? params.offset : undefined;
    const limit = Math.max(1, Math.min(100, typeof params.limit === "number" ? params.limit : 100));
    const timeoutS = typeof params.timeout === "number" ? params.timeout : 0;
    // An offset confirms every update before it: they are never returned again.
    if (offset !== undefined) {
      while (queue.length > 0 && (queue[0]!.update_id as number) < offset) queue.shift();
    }
    if (queue.length === 0 && timeoutS > 0) {
      // A newer long poll ends this one, as Telegram ends the older of two pollers.
      poller?.();
      let superseded = false;
      const end = () => {
        superseded = true;
      };
      poller = () => {
        end();
        wakeAll();
      };
      const mine = poller;
      const deadline = Date.now() + timeoutS * 1000;
      while (
        queue.length === 0 && !superseded && !stopping && Date.now() < deadline
      ) {
        await hold(deadline - Date.now());
      }
      if (poller === mine) poller = null;
      if (superseded) {
        return err(
          409,
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        );
      }
    }
    return ok(queue.slice(0, limit));
  }

  async function answer(method: string, params: Record<string, unknown>): Promise<Answer> {
    switch (method.toLowerCase()) {
      case "getme":
        return ok(botInfo);
      case "sendmessage": {
        if (params.chat_id === undefined || params.chat_id === "") {
          return err(400, "Bad Request: chat_id is empty");
        }
        if (typeof params.text !== "string" || params.text.trim() === "") {
          return err(400, "Bad Request: message text is empty");
        }
        if (params.text.length > 4096) return err(400, "Bad Request: message is too long");
        const m = message(params, params.text);
        return ok(wire(m, m.date));
      }
      case "editmessagetext": {
        if (typeof params.text !== "string" || params.text.trim() === "") {
          return err(400, "Bad Request: message text is empty");
        }
        if (params.inline_message_id !== undefined) return ok(true);
        const m = messages.get(params.message_id as number);
        if (m === undefined || m.chat_id !== params.chat_id) {
          return err(400, "Bad Request: message to edit not found");
        }
        const markup = params.reply_markup ?? null;
        if (m.text === params.text && JSON.stringify(m.reply_markup) === JSON.stringify(markup)) {
          return err(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
          );
        }
        m.text = params.text;
        m.reply_markup = markup;
        return ok(wire(m, Math.floor(Date.now() / 1000)));
      }
      case "answercallbackquery":
        if (typeof params.callback_query_id !== "string" || params.callback_query_id === "") {
          return err(
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
          );
        }
        return ok(true);
      case "setwebhook": {
        if (typeof params.url !== "string") {
          return err(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
        }
        const secret = params.secret_token;
        if (secret !== undefined && (typeof secret !== "string" || !SECRET_TOKEN.test(secret))) {
          return err(400, "Bad Request: secret token contains unallowed characters");
        }
        if (params.url === "") {
          webhook = null;
          return ok(true, "Webhook was deleted");
        }
        webhook = { url: params.url, secretToken: typeof secret === "string" ? secret : null };
        return ok(true, "Webhook was set");
      }
      case "deletewebhook": {
        const had = webhook !== null;
        webhook = null;
        if (params.drop_pending_updates === true) queue.length = 0;
        return ok(true, had ? "Webhook was deleted" : "Webhook is already deleted");
      }
      case "getwebhookinfo":
        return ok({
          url: webhook?.url ?? "",
          has_custom_certificate: false,
          pending_update_count: queue.length,
        });
      case "getupdates":
        return await getUpdates(params);
      case "setmycommands":
        return ok(true);
      default:
        return err(404, "Not Found");
    }
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = /^\/bot([^/]*)\/([A-Za-z]+)$/.exec(url.pathname);
    if (m === null) {
      return Response.json({ ok: false, error_code: 404, description: "Not Found" }, {
        status: 404,
      });
    }
    const [, pathToken, method] = m as unknown as [string, string, string];
    let params: Record<string, unknown>;
    try {
      params = await paramsOf(req, url);
    } catch {
      return Response.json({
        ok: false,
        error_code: 400,
        description: "Bad Request: can't parse JSON",
      }, { status: 400 });
    }
    const injected = faultFor(method);
    const call: FakeCall = {
      method,
      params,
      tokenOk: pathToken === token,
      status: 0,
      fault: injected?.kind ?? null,
      atMs: Date.now(),
    };
    calls.push(call);
    let reply: Answer;
    if (injected?.kind === "timeout") {
      // Never answer while the fault lasts; answered normally once it is cleared.
      // (The client gives up meanwhile; the request stays held, as on a stalled server.)
      while (fault?.fault.kind === "timeout" && !stopping) await hold(60_000);
      if (stopping) return new Response(null, { status: 503 });
    }
    if (!call.tokenOk) {
      reply = err(401, "Unauthorized");
    } else if (injected?.kind === "fail") {
      const status = injected.status ?? 500;
      reply = err(
        status,
        status === 500
          ? "Internal Server Error"
          : status === 502
          ? "Bad Gateway"
          : "Service Unavailable",
      );
    } else if (injected?.kind === "rate_limit") {
      reply = err(429, `Too Many Requests: retry after ${injected.retryAfterS}`, {
        retry_after: injected.retryAfterS,
      });
    } else {
      reply = await answer(method, params);
    }
    call.status = reply.status;
    return Response.json(reply.body, { status: reply.status });
  }

  function listen(): Promise<void> {
    stopping = false;
    return new Promise((resolve) => {
      server = Deno.serve({
        hostname: "127.0.0.1",
        port,
        onListen: (addr) => {
          port = addr.port;
          resolve();
        },
      }, handle);
    });
  }

  async function stop(): Promise<void> {
    const s = server;
    server = null;
    if (s === null) return;
    stopping = true;
    wakeAll();
    await s.shutdown();
  }

  const api: FakeBotApi = {
    get apiRoot() {
      return `http://127.0.0.1:${port}`;
    },
    token,
    calls,
    messages,
    get webhook() {
      return webhook;
    },
    callsOf(method) {
      return calls.filter((c) => c.method.toLowerCase() === method.toLowerCase());
    },
    sentTexts() {
      return api.callsOf("sendMessage").filter((c) => c.status === 200).map((c) =>
        c.params.text as string
      );
    },
    queueUpdate(update) {
      const id = typeof update.update_id === "number" ? update.update_id : nextUpdateId;
      nextUpdateId = Math.max(nextUpdateId, id + 1);
      queue.push({ ...update, update_id: id });
      wakeAll();
      return id;
    },
    async setFault(next, scope = {}) {
      const wasDown = fault?.fault.kind === "down";
      fault = next === null ? null : {
        fault: next,
        methods: scope.methods === undefined
          ? null
          : new Set(scope.methods.map((x) => x.toLowerCase())),
        left: scope.times ?? -1,
      };
      wakeAll();
      if (next?.kind === "down" && !wasDown) await stop();
      if (next?.kind !== "down" && wasDown) await listen();
    },
    async close() {
      fault = null;
      await stop();
    },
  };
  return listen().then(() => api);
}
