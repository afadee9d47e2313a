/**
 * The store's variables as `main.ts` reads them: `DENO_KV_URL` taken as `DENO_KV_PATH` (both set
 * to different stores is one line, exit 2), and `DENO_KV_ACCESS_TOKEN` read for the redactor.
 */

import assert from "node:assert/strict";
import { childEnv } from "./_child_env.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const LOCK = new URL("../deno.lock", import.meta.url).pathname;

/** Runs main.ts in a new folder (`{dir}` in args and env is that folder), with write access to it. */
async function run(
  args: readonly string[],
  vars: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cwd = await Deno.makeTempDir({ prefix: "main_kv_env_" });
  const env = Object.fromEntries(
    Object.entries(vars).map(([k, v]) => [k, v.replace("{dir}", cwd)]),
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--lock=${LOCK}`,
        "--allow-read",
        `--allow-write=${cwd}`,
        "--allow-env",
        MAIN,
        ...args.map((a) => a.replace("{dir}", cwd)),
      ],
      cwd,
      env: childEnv(env),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("main: DENO_KV_URL names the store; set beside a different DENO_KV_PATH it is one line, exit 2", async () => {
  const viaUrl = await run(["ctl", "status"], { DENO_KV_URL: "{dir}/url-store.kv" });
  assert.equal(viaUrl.code, 2, viaUrl.stderr);
  assert.match(viaUrl.stderr, /^ctl: DENO_KV_URL: no bot state at \/.*\/url-store\.kv /);
  const both = await run(["ctl", "status"], {
    DENO_KV_URL: "{dir}/url-store.kv",
    DENO_KV_PATH: "{dir}/path-store.kv",
  });
  assert.equal(both.code, 2);
  assert.equal(
    both.stderr,
    "upbit-trader: DENO_KV_URL and DENO_KV_PATH: both set, to different stores " +
      "(DENO_KV_URL is another name for DENO_KV_PATH): set only one\n",
  );
});

Deno.test("main: DENO_KV_ACCESS_TOKEN from the environment is redacted in every line", async () => {
  // A market named like the token puts the token's value in the refusal line.
  const token = "KRW-KVTOKENCANARY42";
  const r = await run(["demo", "--kv", "{dir}/demo.kv", "--market", token], {
    DENO_KV_ACCESS_TOKEN: token,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^demo: --market: \[REDACTED\]: /);
  assert.ok(!`${r.stdout}${r.stderr}`.includes("KVTOKENCANARY42"), r.stderr);
});
