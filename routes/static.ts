/**
 * The files of `static/`, served under content-hashed names (`/static/app.3f2a91c0.css`) with
 * `Cache-Control: immutable`: a phone on mobile data fetches each version once. The files are
 * read and gzipped once, at start (`loadStaticAssets`), never per request; a browser that accepts
 * gzip gets the compressed body.
 */

import { Hono } from "hono";

/** The static files, by their plain name (`app.css`). */
export interface StaticAssets {
  /** The hashed URL of `name` (throws on a name that is not there: a bug). */
  url(name: string): string;
  /** The file at a hashed URL path, or undefined. */
  get(path: string): StaticFile | undefined;
}

/** One static file: its bytes, gzipped bytes and content type. */
export interface StaticFile {
  readonly body: Uint8Array;
  readonly gzip: Uint8Array;
  readonly type: string;
}

const TYPES: Readonly<Record<string, string>> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
};

/** Reads every file of `dir` (not its folders) and names each by its SHA-256. */
export async function loadStaticAssets(dir: URL): Promise<StaticAssets> {
  const byName = new Map<string, string>();
  const byPath = new Map<string, StaticFile>();
  for await (const entry of Deno.readDir(dir)) {
    const ext = /\.([a-z0-9]+)$/.exec(entry.name)?.[1];
    if (!entry.isFile || ext === undefined || TYPES[ext] === undefined) continue;
    const body = await Deno.readFile(new URL(entry.name, dir));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
    const hash = [...digest.slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const path = `/static/${entry.name.replace(/\.([a-z0-9]+)$/, `.${hash}.$1`)}`;
    byName.set(entry.name, path);
    byPath.set(path, { body, gzip: await gzipOf(body), type: TYPES[ext] });
  }
  return {
    url(name) {
      const path = byName.get(name);
      if (path === undefined) throw new Error(`static/${name} is missing`);
      return path;
    },
    get: (path) => byPath.get(path),
  };
}

async function gzipOf(body: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([body.slice()]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `GET /static/<name>.<hash>.<ext>`: no session needed (nothing private is in them). */
export function createStaticRoutes(assets: StaticAssets): Hono {
  const app = new Hono();
  app.get("/static/:file", (c) => {
    const file = assets.get(c.req.path);
    if (file === undefined) return c.notFound();
    const gzip = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "") &&
      file.gzip.length < file.body.length;
    return c.body((gzip ? file.gzip : file.body).slice().buffer, 200, {
      "content-type": file.type,
      "cache-control": "public, max-age=31536000, immutable",
      "vary": "accept-encoding",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
  });
  return app;
}
