/**
 * `.env` for paper, live and ctl: read from the working folder when it exists (a variable in the
 * environment wins), silently absent otherwise (no Deno warning), one line and exit 2 when it
 * cannot be read.
 */

import assert from "node:assert/strict";
import { childEnv } from "./_child_env.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const LOCK = new URL("../deno.lock", import.meta.url).pathname;

async function ctlStatus(
  cwd: string,
  extra: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", `--lock=${LOCK}`, "--allow-read", "--allow-env", MAIN, "ctl", "status"],
    cwd,
    env: childEnv(extra),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("paper, live and ctl read .env when it exists; the environment wins over it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/.env`, `# the bot's store\nDENO_KV_PATH=${dir}/dotenv.kv\n`);
    const fromFile = await ctlStatus(dir);
    assert.match(fromFile.stderr, /dotenv\.kv/, "the value in .env is used");
    const fromEnv = await ctlStatus(dir, { DENO_KV_PATH: `${dir}/env.kv` });
    assert.match(fromEnv.stderr, /env\.kv/);
    assert.doesNotMatch(fromEnv.stderr, /dotenv\.kv/, "the environment wins over .env");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing .env is no warning; an unreadable one is one line and exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await ctlStatus(dir, { DENO_KV_PATH: `${dir}/bot.kv` });
    assert.doesNotMatch(missing.stderr, /\.env|warning/i);
    // The tasks leave .env to main.ts: Deno's --env-file warns when the file is missing.
    const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
    for (const [name, task] of Object.entries(config.tasks as Record<string, string>)) {
      assert.ok(!task.includes("--env-file"), `task ${name} uses --env-file`);
    }
    await Deno.mkdir(`${dir}/.env`);
    const unreadable = await ctlStatus(dir);
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.stderr, /^upbit-trader: cannot read \.env: .+\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
