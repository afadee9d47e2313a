/**
 * The sandbox's Exchange (private) REST API, `docs/upbit-api.md` §3.3: the same paths,
 * parameters, status codes, JSON shapes and error bodies as `api.upbit.com`. Every request is
 * authenticated by `SandboxAuth`; parameters are parsed with zod; every rejection is answered as
 * `{"error":{"name":"<string>","message":"…"}}` with Upbit's status.
 */

import { type Context, Hono } from "hono";
import { z } from "zod";
import { type Permission, type SandboxAuth } from "./auth.ts";
import { errorBody, type ExchangeFailure, exchangeFailure } from "./errors.ts";
import type { OrderListQuery, OrderRef, SandboxExchange } from "./matching.ts";
import { orderJson, type OrderState, type SandboxOrder } from "./orders.ts";
import { callerIp } from "./rate_limit.ts";

/** What the exchange routes need. */
export interface ExchangeRouteDeps {
  readonly exchange: SandboxExchange;
  readonly auth: SandboxAuth;
  /** The caller's IP (for `allowedIps`); default: the socket's peer (`callerIp`). */
  readonly clientIp?: (c: Context) => string;
}

type Params = Record<string, string | string[]>;

const SEVEN_DAYS_MS = 7 * 24 * 3_600_000;

const nullishString = z.string().nullish();
const orderBySchema = z.enum(["asc", "desc"]).default("desc");
const intText = (min: number, max: number, fallback: number) =>
  z.string().regex(/^\d{1,9}$/).transform(Number).pipe(z.number().int().min(min).max(max))
    .default(fallback);
const listSchema = (max: number) => z.array(z.string()).min(1).max(max).optional();

const orderBodySchema = z.object({
  market: z.string(),
  side: z.string(),
  ord_type: z.string(),
  volume: nullishString,
  price: nullishString,
  time_in_force: nullishString,
  smp_type: nullishString,
  identifier: nullishString,
});

const cancelAndNewSchema = z.object({
  prev_order_uuid: nullishString,
  prev_order_identifier: nullishString,
  new_ord_type: z.string(),
  new_volume: nullishString,
  new_price: nullishString,
  new_identifier: nullishString,
  new_time_in_force: nullishString,
  new_smp_type: nullishString,
});

const refSchema = z.object({ uuid: z.string().optional(), identifier: z.string().optional() });

const idsSchema = (max: number) =>
  z.object({
    "uuids[]": listSchema(max),
    "identifiers[]": listSchema(max),
    market: z.string().optional(),
    order_by: orderBySchema,
  });

const openSchema = z.object({
  market: z.string().optional(),
  state: z.enum(["wait", "watch"]).optional(),
  "states[]": z.array(z.enum(["wait", "watch"])).min(1).optional(),
  page: intText(1, 1_000_000, 1),
  limit: intText(1, 100, 100),
  order_by: orderBySchema,
});

const closedSchema = z.object({
  market: z.string().optional(),
  state: z.enum(["done", "cancel"]).optional(),
  "states[]": z.array(z.enum(["done", "cancel"])).min(1).optional(),
  start_time: z.string().optional(),
  end_time: z.string().optional(),
  limit: intText(1, 1000, 100),
  order_by: orderBySchema,
});

const commaList = z.string().transform((s) => s.split(",").filter((x) => x !== ""));

const batchCancelSchema = z.object({
  cancel_side: z.enum(["all", "bid", "ask"]).default("all"),
  pairs: commaList.pipe(z.array(z.string()).max(20)).optional(),
  quote_currencies: commaList.optional(),
  excluded_pairs: commaList.pipe(z.array(z.string()).max(20)).optional(),
  exclude_pairs: commaList.pipe(z.array(z.string()).max(20)).optional(),
  count: intText(1, 300, 20),
  order_by: orderBySchema,
});

/** The Exchange API sub-app; mount it at the root (`app.route("/", createExchangeRoutes(…))`). */
export function createExchangeRoutes(deps: ExchangeRouteDeps): Hono {
  const { exchange } = deps;
  const app = new Hono();

  app.onError((_err, c) => respond(c, exchangeFailure("internal_server_error")));

  app.get("/v1/accounts", async (c) => {
    const req = await authenticate(c, deps, "view_assets");
    if (!req.ok) return respond(c, req.error);
    return c.json(exchange.accountsJson(req.accountId));
  });

  app.get("/v1/orders/chance", async (c) => {
    const req = await authenticate(c, deps, "view_orders");
    if (!req.ok) return respond(c, req.error);
    const p = parse(z.object({ market: z.string() }), req.params);
    if (!p.ok) return respond(c, p.error);
    const result = exchange.chance(req.accountId, p.value.market);
    return result.ok ? c.json(result.value) : respond(c, result.error);
  });

  // 출금조회 (view withdrawals): read-only; a trading key answers `out_of_scope`.
  app.get("/v1/withdraws/chance", async (c) => {
    const req = await authenticate(c, deps, "view_withdrawals");
    if (!req.ok) return respond(c, req.error);
    const p = parse(
      z.object({ currency: z.string(), net_type: z.string().optional() }),
      req.params,
    );
    if (!p.ok) return respond(c, p.error);
    const result = exchange.withdrawChance(req.accountId, {
      currency: p.value.currency,
      netType: p.value.net_type,
    });
    return result.ok ? c.json(result.value) : respond(c, result.error);
  });

  for (const path of ["/v1/orders", "/v1/orders/test"]) {
    const dryRun = path.endsWith("/test");
    app.post(path, async (c) => {
      const req = await authenticate(c, deps, "place_orders");
      if (!req.ok) return respond(c, req.error);
      const p = parse(orderBodySchema, req.params);
      if (!p.ok) return respond(c, p.error);
      const result = exchange.placeOrder(req.accountId, p.value, { dryRun });
      return result.ok ? c.json(orderJson(result.value), 201) : respond(c, result.error);
    });
  }

  app.get("/v1/order", async (c) => {
    const req = await authenticate(c, deps, "view_orders");
    if (!req.ok) return respond(c, req.error);
    const ref = parseRef(req.params);
    if (!ref.ok) return respond(c, ref.error);
    const result = exchange.getOrder(req.accountId, ref.value);
    return result.ok
      ? c.json(orderJson(result.value, { withTrades: true }))
      : respond(c, result.error);
  });

  app.get("/v1/orders/uuids", async (c) => {
    const req = await authenticate(c, deps, "view_orders");
    if (!req.ok) return respond(c, req.error);
    const p = parse(idsSchema(100), req.params);
    if (!p.ok) return respond(c, p.error);
    const uuids = p.value["uuids[]"];
    const identifiers = p.value["identifiers[]"];
    if ((uuids === undefined) === (identifiers === undefined)) {
      return respond(c, exchangeFailure("validation_error", "uuids or identifiers is required"));
    }
    const orders = exchange.ordersByIds(req.accountId, {
      ...(uuids === undefined ? {} : { uuids }),
      ...(identifiers === undefined ? {} : { identifiers }),
      ...(p.value.market === undefined ? {} : { market: p.value.market }),
      orderBy: p.value.order_by,
    });
    return c.json(orders.map((o) => orderJson(o)));
  });

  app.get("/v1/orders/open", async (c) => {
    const req = await authenticate(c, deps, "view_orders");
    if (!req.ok) return respond(c, req.error);
    const p = parse(openSchema, req.params);
    if (!p.ok) return respond(c, p.error);
    const q = p.value;
    if (q.state !== undefined && q["states[]"] !== undefined) {
      return respond(c, exchangeFailure("validation_error", "state and states cannot be combined"));
    }
    const states: OrderState[] = q["states[]"] ?? [q.state ?? "wait"];
    const query: OrderListQuery = {
      ...(q.market === undefined ? {} : { market: q.market }),
      states,
      orderBy: q.order_by,
      offset: (q.page - 1) * q.limit,
      limit: q.limit,
    };
    return c.json(exchange.listOrders(req.accountId, query).map((o) => orderJson(o)));
  });

  app.get("/v1/orders/closed", async (c) => {
    const req = await authenticate(c, deps, "view_orders");
    if (!req.ok) return respond(c, req.error);
    const p = parse(closedSchema, req.params);
    if (!p.ok) return respond(c, p.error);
    const q = p.value;
    if (q.state !== undefined && q["states[]"] !== undefined) {
      return respond(c, exchangeFailure("validation_error", "state and states cannot be combined"));
    }
    const start = q.start_time === undefined ? undefined : parseTime(q.start_time);
    const end = q.end_time === undefined ? undefined : parseTime(q.end_time);
    if (Number.isNaN(start) || Number.isNaN(end)) {
      return respond(c, exchangeFailure("invalid_parameter", "start_time/end_time is invalid"));
    }
    const nowMs = deps.exchange.nowMs();
    const fromMs = start ?? (end === undefined ? nowMs - SEVEN_DAYS_MS : end - SEVEN_DAYS_MS);
    const toMs = end ?? (start === undefined ? nowMs : start + SEVEN_DAYS_MS);
    if (toMs < fromMs || toMs - fromMs > SEVEN_DAYS_MS) {
      return respond(c, exchangeFailure("invalid_parameter", "the time window must be ≤ 7 days"));
    }
    const states: OrderState[] = q["states[]"] ??
      (q.state === undefined ? ["done", "cancel"] : [q.state]);
    const orders = exchange.listOrders(req.accountId, {
      ...(q.market === undefined ? {} : { market: q.market }),
      states,
      orderBy: q.order_by,
      fromMs,
      toMs,
      limit: q.limit,
    });
    return c.json(orders.map((o) => orderJson(o)));
  });

  app.delete("/v1/order", async (c) => {
    const req = await authenticate(c, deps, "place_orders");
    if (!req.ok) return respond(c, req.error);
    const ref = parseRef(req.params);
    if (!ref.ok) return respond(c, ref.error);
    const result = exchange.cancelOrder(req.accountId, ref.value);
    return result.ok ? c.json(orderJson(result.value)) : respond(c, result.error);
  });

  app.delete("/v1/orders/uuids", async (c) => {
    const req = await authenticate(c, deps, "place_orders");
    if (!req.ok) return respond(c, req.error);
    const p = parse(idsSchema(20), req.params);
    if (!p.ok) return respond(c, p.error);
    const uuids = p.value["uuids[]"];
    const identifiers = p.value["identifiers[]"];
    if ((uuids === undefined) === (identifiers === undefined)) {
      return respond(c, exchangeFailure("validation_error", "uuids or identifiers is required"));
    }
    const refs: OrderRef[] = uuids?.map((uuid) => ({ uuid })) ??
      (identifiers ?? []).map((identifier) => ({ identifier }));
    const success: Array<Record<string, string>> = [];
    const failed: Array<Record<string, string>> = [];
    for (const ref of refs) {
      const result = exchange.cancelOrder(req.accountId, ref);
      if (result.ok) {
        success.push(briefOrder(result.value));
      } else {
        const known = exchange.getOrder(req.accountId, ref);
        failed.push(known.ok ? briefOrder(known.value) : { ...ref } as Record<string, string>);
      }
    }
    return c.json(batchResult(success, failed));
  });

  app.delete("/v1/orders/open", async (c) => {
    const req = await authenticate(c, deps, "place_orders");
    if (!req.ok) return respond(c, req.error);
    const p = parse(batchCancelSchema, req.params);
    if (!p.ok) return respond(c, p.error);
    const q = p.value;
    if (q.pairs !== undefined && q.quote_currencies !== undefined) {
      return respond(
        c,
        exchangeFailure("validation_error", "pairs and quote_currencies cannot be combined"),
      );
    }
    const excluded = [...(q.excluded_pairs ?? []), ...(q.exclude_pairs ?? [])];
    const cancelled = exchange.cancelOpen(req.accountId, {
      ...(q.cancel_side === "all" ? {} : { side: q.cancel_side }),
      ...(q.pairs === undefined ? {} : { pairs: q.pairs }),
      ...(q.quote_currencies === undefined ? {} : { quoteCurrencies: q.quote_currencies }),
      excludedPairs: excluded,
      count: q.count,
      orderBy: q.order_by,
    });
    return c.json(batchResult(cancelled.map(briefOrder), []));
  });

  app.post("/v1/orders/cancel_and_new", async (c) => {
    const req = await authenticate(c, deps, "place_orders");
    if (!req.ok) return respond(c, req.error);
    const p = parse(cancelAndNewSchema, req.params);
    if (!p.ok) return respond(c, p.error);
    const q = p.value;
    const ref: OrderRef = q.prev_order_uuid != null
      ? { uuid: q.prev_order_uuid }
      : q.prev_order_identifier != null
      ? { identifier: q.prev_order_identifier }
      : {};
    if (ref.uuid === undefined && ref.identifier === undefined) {
      return respond(
        c,
        exchangeFailure("validation_error", "prev_order_uuid or prev_order_identifier is missing"),
      );
    }
    const result = exchange.cancelAndNew(req.accountId, ref, {
      ord_type: q.new_ord_type,
      volume: q.new_volume ?? null,
      price: q.new_price ?? null,
      time_in_force: q.new_time_in_force ?? null,
      smp_type: q.new_smp_type ?? null,
      identifier: q.new_identifier ?? null,
    });
    if (!result.ok) return respond(c, result.error);
    const body: Record<string, unknown> = {
      ...orderJson(result.value.cancelled),
      new_order_uuid: result.value.created.uuid,
    };
    if (result.value.created.identifier !== undefined) {
      body.new_order_identifier = result.value.created.identifier;
    }
    return c.json(body, 201);
  });

  return app;
}

/** Upbit's answer for a path no route serves (WIRE, API.md §3.2); use as `app.notFound`. */
export function upbitNotFound(c: Context): Response {
  return c.json(
    { error: { name: "not_found", message: "no Route matched with those values" } },
    404,
  );
}

/** Answers an Upbit-shaped rejection. */
function respond(c: Context, failure: ExchangeFailure): Response {
  return c.json(errorBody(failure), failure.status);
}

type Authed =
  | { readonly ok: true; readonly accountId: string; readonly params: Params }
  | { readonly ok: false; readonly error: ExchangeFailure };

/** Reads the parameters (query or JSON body) and verifies the token over them. */
async function authenticate(
  c: Context,
  deps: ExchangeRouteDeps,
  permission: Permission,
): Promise<Authed> {
  const authorization = c.req.header("authorization");
  if (authorization === undefined || authorization.trim() === "") {
    return { ok: false, error: exchangeFailure("no_authorization_token") };
  }
  const url = c.req.url;
  const hashAt = url.indexOf("#");
  const queryAt = url.indexOf("?");
  const rawQuery = queryAt < 0 ? "" : url.slice(queryAt + 1, hashAt < 0 ? undefined : hashAt);
  let params: Params;
  let body: Record<string, unknown> | undefined;
  if (c.req.method === "POST") {
    const text = await c.req.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, error: exchangeFailure("invalid_parameter", "body is not valid JSON") };
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return { ok: false, error: exchangeFailure("invalid_parameter", "body must be an object") };
    }
    body = parsed as Record<string, unknown>;
    params = body as Params;
  } else {
    if (c.req.method === "DELETE" && (await c.req.text()) !== "") {
      return { ok: false, error: exchangeFailure("QUERY_PARAMETER_NOT_SUPPORTED") };
    }
    // Upbit refuses values whose `:` / `+` / spaces were not URL-encoded.
    if (/[+: ]/.test(rawQuery)) {
      return {
        ok: false,
        error: exchangeFailure("invalid_parameter", "Invalid parameter. Check the given value!"),
      };
    }
    const query = parseQuery(rawQuery);
    if (query === undefined) {
      return { ok: false, error: exchangeFailure("invalid_parameter", "malformed query string") };
    }
    params = query;
  }
  const ip = deps.clientIp?.(c) ?? callerIp(c);
  const verified = await deps.auth.verify({
    authorization,
    rawQuery,
    ...(body === undefined ? {} : { body }),
    ip,
    permission,
  });
  if (!verified.ok) return verified;
  return { ok: true, accountId: verified.value.accountId, params };
}

/** Decodes a raw query: `k[]` keys collect arrays; other repeated keys keep the first value. */
export function parseQuery(rawQuery: string): Params | undefined {
  const params: Params = {};
  if (rawQuery === "") return params;
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      value = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
    if (key.endsWith("[]")) {
      const list = params[key];
      if (Array.isArray(list)) list.push(value);
      else params[key] = [value];
    } else if (!(key in params)) {
      params[key] = value;
    }
  }
  return params;
}

function parse<T extends z.ZodType>(
  schema: T,
  params: unknown,
): { ok: true; value: z.output<T> } | { ok: false; error: ExchangeFailure } {
  const result = schema.safeParse(params);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const field = String(issue?.path[0] ?? "parameter").replace(/\[\]$/, "");
  const missing = issue?.code === "invalid_type" && issue.message.includes("undefined");
  return {
    ok: false,
    error: exchangeFailure(
      "validation_error",
      missing ? `${field} is missing` : `${field} does not have a valid value`,
    ),
  };
}

function parseRef(
  params: Params,
): { ok: true; value: OrderRef } | { ok: false; error: ExchangeFailure } {
  const p = parse(refSchema, params);
  if (!p.ok) return p;
  if (p.value.uuid !== undefined) return { ok: true, value: { uuid: p.value.uuid } };
  if (p.value.identifier !== undefined) {
    return { ok: true, value: { identifier: p.value.identifier } };
  }
  return { ok: false, error: exchangeFailure("validation_error", "uuid or identifier is missing") };
}

/** ISO-8601 with an offset (or `Z`), or epoch ms; NaN otherwise. */
function parseTime(text: string): number {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return NaN;
  return Date.parse(text);
}

function briefOrder(order: SandboxOrder): Record<string, string> {
  return {
    uuid: order.uuid,
    market: order.market,
    ...(order.identifier === undefined ? {} : { identifier: order.identifier }),
  };
}

function batchResult(
  success: ReadonlyArray<Record<string, string>>,
  failed: ReadonlyArray<Record<string, string>>,
): Record<string, unknown> {
  return {
    success: { count: success.length, orders: success },
    failed: { count: failed.length, orders: failed },
  };
}
