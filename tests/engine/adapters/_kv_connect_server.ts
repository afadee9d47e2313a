/**
 * A small KV Connect server for tests (the protocol `Deno.openKv("http://…")` speaks; spec:
 * denoland/denokv `proto/kv-connect.md`, `proto/schema/datapath.proto`): the metadata exchange
 * (protocol 2 and 3, a bearer access token checked), snapshot reads and atomic writes with
 * checks, set, delete, sum (u64) and lazy expiry, over one in-memory ordered map. No watch, no
 * queues (real KV Connect has no queues either).
 *
 * Each client connects under its own path (`http://host:port/<client>`), so a test can cut one
 * client off (`partition`: its requests wait, unanswered, until `heal`), as a network partition
 * would, while the others go on.
 */

/** A running server. */
export interface KvConnectServer {
  /** The URL a client `name` passes to `Deno.openKv`. */
  url(name: string): string;
  /** Holds every request of client `name` unanswered until `heal(name)`. */
  partition(name: string): void;
  /** Lets client `name`'s held and new requests through. */
  heal(name: string): void;
  /** Requests of client `name` held right now. */
  held(name: string): number;
  close(): Promise<void>;
}

interface Stored {
  readonly value: Uint8Array;
  readonly encoding: number;
  readonly versionstamp: Uint8Array;
  readonly expireAtMs: number;
}

/** Starts the server on a free loopback port; clients must send `accessToken`. */
export function startKvConnectServer(accessToken: string): KvConnectServer {
  const data = new Map<string, Stored>();
  let version = 0n;
  const cuts = new Map<string, { held: number; healed: PromiseWithResolvers<void> }>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  const port = server.addr.port;

  async function handle(req: Request): Promise<Response> {
    const [, client = "", ...rest] = new URL(req.url).pathname.split("/");
    const path = rest.join("/");
    const body = new Uint8Array(await req.arrayBuffer());
    const cut = cuts.get(client);
    if (cut !== undefined) {
      cut.held++;
      await cut.healed.promise;
    }
    if (req.headers.get("authorization") !== `Bearer ${accessToken}`) {
      return new Response("invalid access token", { status: 401 });
    }
    if (path === "") {
      const asked = JSON.parse(new TextDecoder().decode(body)) as { supportedVersions: number[] };
      return Response.json({
        version: asked.supportedVersions.includes(3) ? 3 : 2,
        databaseId: "00000000-0000-0000-0000-000000000000",
        endpoints: [{ url: `/${client}/v2`, consistency: "strong" }],
        token: accessToken,
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      });
    }
    const protobuf = { headers: { "content-type": "application/x-protobuf" } };
    if (path === "v2/snapshot_read") return new Response(snapshotRead(body), protobuf);
    if (path === "v2/atomic_write") return new Response(atomicWrite(body), protobuf);
    return new Response(`not supported here: ${path}`, { status: 400 });
  }

  function live(key: string): Stored | undefined {
    const entry = data.get(key);
    if (entry !== undefined && entry.expireAtMs > 0 && entry.expireAtMs <= Date.now()) {
      data.delete(key);
      return undefined;
    }
    return entry;
  }

  function snapshotRead(body: Uint8Array): Uint8Array<ArrayBuffer> {
    const ranges = fields(body).filter((f) => f.no === 1).map((f) => {
      const r = fields(f.bytes!);
      return {
        start: hex(bytesOf(r, 1)),
        end: hex(bytesOf(r, 2)),
        limit: Number(numberOf(r, 3)),
        reverse: numberOf(r, 4) === 1n,
      };
    });
    const out: Uint8Array[] = [];
    for (const range of ranges) {
      const keys = [...data.keys()].filter((k) => k >= range.start && k < range.end).sort();
      if (range.reverse) keys.reverse();
      const values: Uint8Array[] = [];
      for (const key of keys) {
        if (values.length >= range.limit) break;
        const entry = live(key);
        if (entry === undefined) continue;
        values.push(message([
          [1, unhex(key)],
          [2, entry.value],
          [3, BigInt(entry.encoding)],
          [4, entry.versionstamp],
        ]));
      }
      out.push(message(values.map((v) => [1, v])));
    }
    // read_is_strongly_consistent, status SR_SUCCESS.
    return message([...out.map((o): Field => [1, o]), [4, 1n], [8, 1n]]);
  }

  function atomicWrite(body: Uint8Array): Uint8Array<ArrayBuffer> {
    const all = fields(body);
    if (all.some((f) => f.no === 3)) throw new Error("KV Connect has no queues");
    const checks = all.filter((f) => f.no === 1).map((f) => fields(f.bytes!));
    const failed = checks.findIndex((c) => {
      const stamp = hex(bytesOf(c, 2));
      const entry = live(hex(bytesOf(c, 1)));
      return (entry === undefined ? "" : hex(entry.versionstamp)) !== stamp;
    });
    // AW_CHECK_FAILURE.
    if (failed >= 0) return message([[1, 2n]]);
    version += BigInt(1 + Math.floor(Math.random() * 9));
    const stamp = unhex(version.toString(16).padStart(20, "0"));
    for (const f of all.filter((f) => f.no === 2)) {
      const m = fields(f.bytes!);
      const key = hex(bytesOf(m, 1));
      const kind = Number(numberOf(m, 3));
      const value = fields(bytesOf(m, 2));
      const expireAtMs = Number(numberOf(m, 4));
      if (kind === 2) {
        data.delete(key);
        continue;
      }
      let bytes = bytesOf(value, 1);
      const encoding = Number(numberOf(value, 2));
      if (kind === 3) {
        // M_SUM of two little-endian u64s, wrapping.
        const before = live(key);
        const sum = ((before === undefined ? 0n : le64(before.value)) + le64(bytes)) &
          0xffff_ffff_ffff_ffffn;
        bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setBigUint64(0, sum, true);
      } else if (kind !== 1) {
        throw new Error(`mutation type ${kind} not supported here`);
      }
      data.set(key, { value: bytes, encoding, versionstamp: stamp, expireAtMs });
    }
    // AW_SUCCESS and the versionstamp.
    return message([[1, 1n], [2, stamp]]);
  }

  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    partition(name) {
      if (!cuts.has(name)) cuts.set(name, { held: 0, healed: Promise.withResolvers<void>() });
    },
    heal(name) {
      cuts.get(name)?.healed.resolve();
      cuts.delete(name);
    },
    held: (name) => cuts.get(name)?.held ?? 0,
    async close() {
      for (const name of [...cuts.keys()]) this.heal(name);
      await server.shutdown();
    },
  };
}

// ---- protobuf, the little the data path needs ------------------------------------------------

type Field = [number, bigint | Uint8Array];

interface Parsed {
  readonly no: number;
  readonly value?: bigint;
  readonly bytes?: Uint8Array;
}

function fields(buf: Uint8Array): Parsed[] {
  const out: Parsed[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const tag = Number(varint());
    const no = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, bytes: buf.subarray(at, at + len) });
      at += len;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

function bytesOf(parsed: Parsed[], no: number): Uint8Array {
  return parsed.find((f) => f.no === no)?.bytes ?? new Uint8Array();
}

function numberOf(parsed: Parsed[], no: number): bigint {
  return parsed.find((f) => f.no === no)?.value ?? 0n;
}

function message(list: readonly Field[]): Uint8Array<ArrayBuffer> {
  const parts: number[] = [];
  const varint = (n: bigint) => {
    do {
      let byte = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) byte |= 0x80;
      parts.push(byte);
    } while (n > 0n);
  };
  for (const [no, value] of list) {
    if (typeof value === "bigint") {
      varint(BigInt(no << 3));
      varint(value);
    } else {
      varint(BigInt((no << 3) | 2));
      varint(BigInt(value.length));
      parts.push(...value);
    }
  }
  return new Uint8Array(parts);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
}

function le64(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}
