/**
 * Fault switches for the sandbox (design/reliability.md §6.2): per request path, delay an
 * answer, lose it (hang until the client gives up, or reset the connection), answer 5xx or an
 * HTML error page, inject 429/418, or accept the request and then lose the answer.
 *
 * A fault never corrupts state: every kind except `accept_then_lose` answers before the request
 * reaches a handler, and `accept_then_lose` lets the handler finish before dropping its answer.
 * Tests arm faults directly; `createFaultAdminRoutes` exposes the same switches over HTTP (mount
 * it only when asked to: it is off by default). A reset errors the answer's body on purpose: the
 * server's `onError` (`Faults.onServeError`) counts it instead of printing its stack trace.
 */

import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { blockedResponse, tooManyResponse } from "./rate_limit.ts";

/** The kinds of fault. */
export const FAULT_KINDS = [
  "delay",
  "lose_response",
  "accept_then_lose",
  "server_error",
  "html_error",
  "rate_limited",
  "blocked",
] as const;

/** One kind of fault. */
export type FaultKind = typeof FAULT_KINDS[number];

/** How a lost answer looks to the client. */
export type LoseMode = "hang" | "reset";

/** One armed fault. */
export interface FaultSpec {
  readonly kind: FaultKind;
  /** Exact request path (e.g. `/v1/orders`); every path when omitted. */
  readonly path?: string;
  /** HTTP method; every method when omitted. */
  readonly method?: string;
  /** How many requests it hits (default 1; `Infinity` until disarmed). */
  readonly count?: number;
  /** `delay`: how long to wait before answering normally. */
  readonly delayMs?: number;
  /** `server_error` / `html_error`: status (default 500 / 502). */
  readonly status?: number;
  /** `lose_response` / `accept_then_lose`: hang (default) or reset the connection. */
  readonly mode?: LoseMode;
  /** Hang at most this long, then reset (default 60 s). */
  readonly hangMs?: number;
  /** `blocked`: the block time stated in the 418 (default 10 s). */
  readonly blockMs?: number;
}

/** An armed fault with its id and hits left. */
export interface ArmedFault extends FaultSpec {
  readonly id: number;
  readonly remaining: number;
  readonly hits: number;
}

/** The zod schema of a `FaultSpec` (for the admin endpoint). */
export const faultSpecSchema: z.ZodType<FaultSpec> = z.object({
  kind: z.enum(FAULT_KINDS),
  path: z.string().optional(),
  method: z.string().optional(),
  count: z.number().int().positive().optional(),
  delayMs: z.number().int().min(0).max(600_000).optional(),
  status: z.number().int().min(500).max(599).optional(),
  mode: z.enum(["hang", "reset"]).optional(),
  hangMs: z.number().int().min(0).max(600_000).optional(),
  blockMs: z.number().int().min(0).max(86_400_000).optional(),
});

const HTML_PAGE = (status: number) =>
  `<html>\n<head><title>${status} Bad Gateway</title></head>\n<body>\n` +
  `<center><h1>${status} Bad Gateway</h1></center>\n</body>\n</html>\n`;

/** The set of armed faults, consumed in arming order. */
export class Faults {
  #armed: Array<{ spec: FaultSpec; id: number; remaining: number; hits: number }> = [];
  #nextId = 1;
  #resets = 0;

  /** How many reset answers the server has dropped so far. */
  get resets(): number {
    return this.#resets;
  }

  /**
   * `Deno.serve`'s `onError`: an injected reset is counted quietly (the connection is already
   * dropped); any other error is printed and answered 500, as Deno does by default.
   */
  onServeError(error: unknown): Response {
    if (error instanceof InjectedReset) this.#resets += 1;
    // deno-lint-ignore no-console
    else console.error(error);
    return new Response("Internal Server Error", { status: 500 });
  }

  /** Arms a fault; returns its id. */
  arm(spec: FaultSpec): number {
    const id = this.#nextId++;
    this.#armed.push({ spec, id, remaining: spec.count ?? 1, hits: 0 });
    return id;
  }

  /** Disarms one fault. */
  disarm(id: number): void {
    this.#armed = this.#armed.filter((f) => f.id !== id);
  }

  /** Disarms every fault. */
  clear(): void {
    this.#armed = [];
  }

  /** The armed faults. */
  list(): ArmedFault[] {
    return this.#armed.map((f) => ({ ...f.spec, id: f.id, remaining: f.remaining, hits: f.hits }));
  }

  /** The middleware applying the faults; mount it inside the rate limiter, before the routes. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const path = new URL(c.req.url).pathname;
      const fault = this.#take(c.req.method, path);
      if (fault === undefined) return await next();
      // Read the abort signal only where it is waited on: touching it makes Deno.serve warn.
      switch (fault.kind) {
        case "delay":
          await sleep(fault.delayMs ?? 1000, c.req.raw.signal);
          return await next();
        case "lose_response":
          return await lose(fault, c.req.raw);
        case "accept_then_lose":
          await next();
          // The handler already answered: replace its response (a returned one would be ignored).
          c.res = await lose(fault, c.req.raw);
          return;
        case "server_error":
          return c.json(
            { error: { name: "internal_server_error", message: "Internal Server Error" } },
            (fault.status ?? 500) as 500,
          );
        case "html_error":
          return c.html(HTML_PAGE(fault.status ?? 502), (fault.status ?? 502) as 502);
        case "rate_limited":
          return tooManyResponse();
        case "blocked":
          return blockedResponse(fault.blockMs ?? 10_000);
      }
    };
  }

  #take(method: string, path: string): FaultSpec | undefined {
    const found = this.#armed.find((f) =>
      (f.spec.path === undefined || f.spec.path === path) &&
      (f.spec.method === undefined || f.spec.method.toUpperCase() === method.toUpperCase())
    );
    if (found === undefined) return undefined;
    found.remaining -= 1;
    found.hits += 1;
    if (found.remaining <= 0) this.#armed = this.#armed.filter((f) => f !== found);
    return found.spec;
  }
}

/** Admin routes for faults: `GET/POST/DELETE /sandbox/faults` (mount only when enabled). */
export function createFaultAdminRoutes(faults: Faults): Hono {
  const app = new Hono();
  app.get("/sandbox/faults", (c) => c.json(faults.list()));
  app.post("/sandbox/faults", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: { name: "invalid_parameter", message: "body is not JSON" } }, 400);
    }
    const spec = faultSpecSchema.safeParse(body);
    if (!spec.success) {
      const issue = spec.error.issues[0]!;
      const message = `${issue.path.join(".") || "body"}: ${issue.message}`;
      return c.json({ error: { name: "validation_error", message } }, 400);
    }
    return c.json({ id: faults.arm(spec.data) }, 201);
  });
  app.delete("/sandbox/faults", (c) => {
    faults.clear();
    return c.json({ cleared: true });
  });
  return app;
}

/** Hangs until the client aborts (or `hangMs`), or resets the connection at once. */
async function lose(fault: FaultSpec, req: Request): Promise<Response> {
  if ((fault.mode ?? "hang") === "hang") await sleep(fault.hangMs ?? 60_000, req.signal);
  return resetResponse();
}

/** The error a reset answer's body fails with, so the server can tell it from a real one. */
class InjectedReset extends Error {
  constructor() {
    super("sandbox fault: connection reset");
  }
}

/** A response whose body fails at once: the server drops the connection mid-answer. */
function resetResponse(): Response {
  const body = new ReadableStream({
    start(controller) {
      controller.error(new InjectedReset());
    },
  });
  return new Response(body, { status: 200 });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
