/**
 * The local control channel of a running bot, so `deno task ctl` works while the bot holds its
 * KV database (reliability.md §2.6: one process per KV file; a second writer gets
 * `database is locked`, and `kv.watch` does not cross processes).
 *
 * The bot serves a tiny HTTP API on 127.0.0.1 only (a free port) and writes
 * `<kv path>.ctl.json` = `{ port, token, pid }` with mode 0600. `ctl` reads the file, sends the
 * command with `Authorization: Bearer <token>` and prints the answer. The token is 32 random
 * bytes, checked in constant time; the file's permissions keep other users out. When no bot
 * holds the lock, `ctl` opens the KV itself instead (see `ctl_command.ts`).
 */

import { Hono } from "hono";
import { z } from "zod";
import { serveGuarded } from "../http_guard.ts";

/** What the control API serves: the running bot's operator (commands run as actor `ctl`). */
export interface ControlHandlers {
  /** `POST /command`: the operator's `execute("ctl", body)`. */
  execute(command: unknown): Promise<unknown>;
  /** `GET /status`. */
  status(): Promise<unknown>;
  /** `GET /params`. */
  params(): Promise<unknown>;
  /** `GET /audit?limit=N`. */
  audit(limit: number): Promise<unknown>;
  /** `GET /backup`: the store's backup file (kv_backup.ts), taken by the bot's own process. */
  backup(): Promise<string>;
  /** `GET /report?date=YYYY-MM-DD`: the daily report (default the last complete day, else the latest active one). */
  report?(date: string | undefined): Promise<unknown>;
}

/** The control file's content. */
export interface ControlFile {
  readonly port: number;
  readonly token: string;
  readonly pid: number;
}

const CONTROL_FILE = z.object({
  port: z.number().int().min(1).max(65535),
  token: z.string().regex(/^[0-9a-f]{64}$/),
  pid: z.number().int(),
});

/** Where a bot on `lockBase` (the KV path, or a local stand-in for a remote KV) publishes it. */
export function controlFilePath(lockBase: string): string {
  return `${lockBase}.ctl.json`;
}

/** A fresh random token (hex of 32 bytes). */
function newControlToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The control routes: `POST /command` (an operator command, validated by the operator),
 * `GET /status`, `GET /params`, `GET /audit?limit=N`, `GET /backup` (the backup file's text).
 */
function createControlRoutes(token: string, handlers: ControlHandlers): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    const given = /^Bearer ([0-9a-f]{64})$/.exec(c.req.header("authorization") ?? "")?.[1];
    if (given === undefined || !sameText(given, token)) {
      return c.json({ ok: false, error: "unauthorized" }, 401);
    }
    await next();
  });
  app.get("/status", async (c) => c.json({ ok: true, value: await handlers.status() }));
  app.get("/params", async (c) => c.json({ ok: true, value: await handlers.params() }));
  app.get("/audit", async (c) => {
    const limit = z.coerce.number().int().min(1).max(1000).default(20)
      .safeParse(c.req.query("limit"));
    if (!limit.success) return c.json({ ok: false, error: "limit: expected 1 to 1000" }, 400);
    return c.json({ ok: true, value: await handlers.audit(limit.data) });
  });
  app.get("/backup", async (c) => c.json({ ok: true, value: await handlers.backup() }));
  app.get("/report", async (c) => {
    const date = c.req.query("date");
    if (date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      return c.json({ ok: false, error: "date: expected YYYY-MM-DD" }, 400);
    }
    if (handlers.report === undefined) return c.json({ ok: false, error: "no reports" }, 404);
    return c.json({ ok: true, value: await handlers.report(date) });
  });
  app.post("/command", async (c) => {
    const body = await c.req.json().catch(() => undefined);
    if (body === undefined) return c.json({ ok: false, error: "body: expected JSON" }, 400);
    return c.json({ ok: true, value: await handlers.execute(body) });
  });
  app.onError((error, c) => {
    return c.json({ ok: false, error: error.message.split("\n")[0] }, 500);
  });
  return app;
}

/** Compares two equal-length hex strings in constant time. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A running control server. */
export interface ControlServer {
  readonly port: number;
  /** Stops serving and removes the control file. */
  close(): Promise<void>;
}

/**
 * Serves the control routes on 127.0.0.1 and publishes the port and token in `filePath` (0600,
 * written before it is renamed into place, so a reader never sees half a file).
 */
export async function startControlServer(
  filePath: string,
  handlers: ControlHandlers,
): Promise<ControlServer> {
  const token = newControlToken();
  const app = createControlRoutes(token, handlers);
  // Behind the guard like every HTTP surface: 16 KiB bodies, head deadline, 64 connections.
  const server = await serveGuarded({
    listen: { hostname: "127.0.0.1", port: 0 },
    limits: { maxBodyBytes: 16_384, maxConnections: 64 },
    tooLarge: () => Response.json({ ok: false, error: "body too large" }, { status: 413 }),
    handler: (request, info) => app.fetch(request, info),
  });
  const content: ControlFile = { port: server.addr.port, token, pid: Deno.pid };
  const tmp = `${filePath}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(content) + "\n", { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, filePath);
  return {
    port: server.addr.port,
    async close() {
      await server.shutdown();
      await Deno.remove(filePath).catch(() => {});
    },
  };
}

/** Reads a control file; undefined when it is missing or unreadable. */
export async function readControlFile(filePath: string): Promise<ControlFile | undefined> {
  try {
    const parsed = CONTROL_FILE.safeParse(JSON.parse(await Deno.readTextFile(filePath)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Sends one command to a running bot; the answer's `value`, or a thrown one-line Error. */
export async function sendControl(
  file: ControlFile,
  request: { readonly method: "GET" | "POST"; readonly path: string; readonly body?: unknown },
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${file.port}${request.path}`, {
      method: request.method,
      headers: {
        authorization: `Bearer ${file.token}`,
        ...(request.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(60_000),
    });
  } catch {
    throw new Error(`the bot (pid ${file.pid}) does not answer on 127.0.0.1:${file.port}`);
  }
  const json = await res.json().catch(() => undefined) as
    | { ok: boolean; value?: unknown; error?: string }
    | undefined;
  if (json === undefined || !json.ok) {
    throw new Error(`the bot refused: ${json?.error ?? `HTTP ${res.status}`}`);
  }
  return json.value;
}
