/**
 * `deno task sandbox` as a user runs it: a subprocess from the repository root, its first output
 * lines, a request to the port it printed, `--help`, a bad flag, and key handling (the secret is
 * never printed).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DEMO_ACCESS_KEY, DEMO_SECRET_KEY } from "../../../engine/sandbox/mod.ts";
import { signToken } from "./_sign.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI_SOURCE = new URL("../../../engine/sandbox/cli.ts", import.meta.url);
/** The line `deno task` itself writes to stderr before running the command. */
const TASK_HEADER = /^Task sandbox /;
const SERVING =
  /^sandbox rest=http:\/\/127\.0\.0\.1:(\d+) ws=ws:\/\/127\.0\.0\.1:(\d+)\/websocket\/v1$/;

/** The parent's environment without any `UPBIT_*` variable, plus `extra`. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  const base = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("UPBIT_")),
  );
  return { ...base, NO_COLOR: "1", ...extra };
}

function command(args: string[], extraEnv: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "sandbox", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: env(extraEnv),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** A running sandbox process, its first two stdout lines and how to stop it. */
interface Running {
  readonly lines: readonly string[];
  readonly port: number;
  /** Stops it (SIGINT: the CLI closes the sandbox and exits 0); returns all output. */
  stop(): Promise<{ code: number; stdout: string; stderr: string }>;
}

async function run(args: string[], extraEnv: Record<string, string> = {}): Promise<Running> {
  const child = command(args, extraEnv).spawn();
  const stderrText = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
  while (stdout.split("\n").length < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  const lines = stdout.split("\n").slice(0, 2);
  const match = SERVING.exec(lines[0] ?? "");
  if (match === null) {
    child.kill("SIGKILL");
    clearTimeout(deadline);
    await child.status;
    assert.fail(`unexpected first line: ${lines[0]} (stderr: ${await stderrText})`);
  }
  assert.equal(match[1], match[2], "REST and WebSocket share the port");
  return {
    lines,
    port: Number(match[1]),
    async stop() {
      child.kill("SIGINT");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stdout += value;
      }
      const status = await child.status;
      clearTimeout(deadline);
      return { code: status.code, stdout, stderr: await stderrText };
    },
  };
}

Deno.test("cli: --port 0 prints the real port and the demo keys, serves REST, stops on SIGINT", async () => {
  const sb = await run(["--port", "0"]);
  let stopped = false;
  try {
    assert.notEqual(sb.port, 0);
    assert.equal(
      sb.lines[0],
      `sandbox rest=http://127.0.0.1:${sb.port} ws=ws://127.0.0.1:${sb.port}/websocket/v1`,
    );
    assert.match(sb.lines[1] ?? "", /demo keys/);
    assert.ok(sb.lines[1]?.includes(DEMO_ACCESS_KEY));
    const res = await fetch(`http://127.0.0.1:${sb.port}/v1/market/all`);
    assert.equal(res.status, 200);
    const markets = await res.json();
    assert.ok(markets.some((m: { market: string }) => m.market === "KRW-BTC"));
    // The demo key works.
    const token = await signToken({ accessKey: DEMO_ACCESS_KEY, secretKey: DEMO_SECRET_KEY });
    const accounts = await fetch(`http://127.0.0.1:${sb.port}/v1/accounts`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(accounts.status, 200);
    assert.deepEqual((await accounts.json()).map((a: { currency: string }) => a.currency), ["KRW"]);
    const out = await sb.stop();
    stopped = true;
    assert.equal(out.code, 0, out.stderr);
  } finally {
    if (!stopped) await sb.stop();
  }
});

Deno.test("cli: keys from the environment are used and the secret is never printed", async () => {
  const secret = `SECRET-${crypto.randomUUID()}`;
  const access = `ACCESS-${crypto.randomUUID()}`;
  const sb = await run(["--port", "0", "--data", "data/upbit-KRW-BTC-1d.csv"], {
    UPBIT_ACCESS_KEY: access,
    UPBIT_SECRET_KEY: secret,
  });
  let out: Awaited<ReturnType<Running["stop"]>>;
  try {
    assert.ok(sb.lines[1]?.includes(access), sb.lines[1]);
    assert.ok(!sb.lines[1]?.includes(DEMO_ACCESS_KEY));
    const own = await signToken({ accessKey: access, secretKey: secret });
    const ok = await fetch(`http://127.0.0.1:${sb.port}/v1/accounts`, {
      headers: { authorization: `Bearer ${own}` },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const demoToken = await signToken({ accessKey: DEMO_ACCESS_KEY, secretKey: DEMO_SECRET_KEY });
    const demo = await fetch(`http://127.0.0.1:${sb.port}/v1/accounts`, {
      headers: { authorization: `Bearer ${demoToken}` },
    });
    assert.equal(demo.status, 401);
    assert.equal((await demo.json()).error.name, "invalid_access_key");
  } finally {
    // Stop in every case so the process never outlives the test.
    out = await sb.stop();
  }
  assert.equal(out.code, 0, out.stderr);
  assert.ok(!out.stdout.includes(secret), "secret on stdout");
  assert.ok(!out.stderr.includes(secret), "secret on stderr");

  // Only the secret set: the demo keys apply, and the stray secret is not echoed either.
  const half = await run(["--port", "0", "--data", "data/upbit-KRW-BTC-1d.csv"], {
    UPBIT_SECRET_KEY: secret,
  });
  const halfOut = await half.stop();
  assert.ok(half.lines[1]?.includes(DEMO_ACCESS_KEY));
  assert.ok(!halfOut.stdout.includes(secret) && !halfOut.stderr.includes(secret));
});

Deno.test("cli: --help exits 0 and documents every flag", async () => {
  const out = await command(["--help"]).output();
  assert.equal(out.code, 0);
  const help = new TextDecoder().decode(out.stdout);
  const source = await Deno.readTextFile(CLI_SOURCE);
  const flags = [...source.matchAll(/case "(--?[a-z-]+)":/g)].map((m) => m[1] as string);
  assert.ok(flags.length >= 9, `flags found in cli.ts: ${flags}`);
  for (const flag of flags) {
    assert.match(help, new RegExp(`(^|[\\s,])${flag}(?![a-z-])`), `--help misses ${flag}`);
  }
  for (
    const topic of ["UPBIT_ACCESS_KEY", "UPBIT_SECRET_KEY", DEMO_ACCESS_KEY, "/sandbox/faults"]
  ) {
    assert.ok(help.includes(topic), `--help misses ${topic}`);
  }
});

Deno.test("cli: a bad flag prints one line and exits 2", async () => {
  for (
    const [args, message] of [
      [["--bogus"], /^sandbox: unknown option --bogus \(see --help\)$/],
      [["--port", "abc"], /^sandbox: --port needs a whole number >= 0: got abc$/],
      [["--port", "70000"], /^sandbox: --port must be <= 65535: got 70000$/],
      [["--balance", "KRW"], /^sandbox: --balance needs CUR=AMOUNT/],
    ] as const
  ) {
    const out = await command([...args]).output();
    assert.equal(out.code, 2, args.join(" "));
    assert.equal(new TextDecoder().decode(out.stdout), "");
    const lines = new TextDecoder().decode(out.stderr).split("\n")
      .filter((l) => l !== "" && !TASK_HEADER.test(l));
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0] as string, message);
  }
});

/**
 * The CLI's own command (a kill reaches it, not only `deno task`) with `args`; one that starts
 * serving instead of refusing is killed after 20 s (and fails on its exit code).
 */
async function runCli(args: readonly string[]): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-net", "--allow-env", fileURLToPath(CLI_SOURCE), ...args],
    cwd: ROOT,
    clearEnv: true,
    env: env(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(kill);
  return out;
}

Deno.test("cli: --start outside the data or on a day that does not exist refuses in one line", async () => {
  const range = "\\(the data covers \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} → \\d{4}-\\d{2}-\\d{2} " +
    "\\d{2}:\\d{2} UTC\\)$";
  for (
    const [start, reason] of [
      ["2099-01-01", "after the data: nothing to replay"],
      ["2000-01-01T00:00:00Z", "before the data: nothing to replay"],
      ["2024-02-30", "not a calendar date \\(no such day or time\\)"],
      ["2023-02-29T10:00:00Z", "not a calendar date \\(no such day or time\\)"],
    ] as const
  ) {
    const out = await runCli(["--port", "0", "--start", start]);
    assert.equal(out.code, 2, start);
    assert.equal(new TextDecoder().decode(out.stdout), "", `${start}: nothing served`);
    const lines = new TextDecoder().decode(out.stderr).split("\n")
      .filter((l) => l !== "" && !TASK_HEADER.test(l));
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, new RegExp(`^sandbox: --start ${start}: ${reason} ${range}`));
  }
});

Deno.test("cli: --data that the default start misses refuses in one line, naming a --start", async () => {
  const out = await runCli([
    "--port",
    "0",
    "--data",
    "data/upbit-KRW-BTC-1m-20220531-20220607.csv",
  ]);
  assert.equal(out.code, 2);
  assert.equal(new TextDecoder().decode(out.stdout), "", "nothing served");
  const lines = new TextDecoder().decode(out.stderr).split("\n")
    .filter((l) => l !== "" && !TASK_HEADER.test(l));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(
    lines[0]!,
    /^sandbox: --start: the default start 2025-08-01 \d{2}:\d{2} UTC is outside the data \(2022-05-31 12:01 → 2022-06-07 10:47 UTC\): the market would never move; pass --start 2022-05-31T12:01 or a later moment of the data$/,
  );
});

Deno.test("cli: --accounts FILE serves several accounts, one per key pair", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/accounts.json`;
  const alice = { accessKey: "ALICE-ACCESS-KEY-0001", secretKey: "ALICE-SECRET-KEY-0001" };
  const bob = { accessKey: "BOB-ACCESS-KEY-000001", secretKey: "BOB-SECRET-KEY-000001" };
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      accounts: [
        {
          id: "alice",
          access_key: alice.accessKey,
          secret_key: alice.secretKey,
          balances: { KRW: "1000000" },
        },
        {
          id: "bob",
          access_key: bob.accessKey,
          secret_key: bob.secretKey,
          balances: { KRW: "5000.5", BTC: "0.1" },
          permissions: ["view_assets", "view_orders", "place_orders", "view_withdrawals"],
        },
      ],
    }),
  );
  const sb = await run(["--port", "0", "--data", "data/upbit-KRW-BTC-1d.csv", "--accounts", path]);
  let out: Awaited<ReturnType<Running["stop"]>>;
  try {
    assert.equal(sb.lines[1], `account alice access key ${alice.accessKey}`);
    const balances = async (key: { accessKey: string; secretKey: string }) => {
      const res = await fetch(`http://127.0.0.1:${sb.port}/v1/accounts`, {
        headers: { authorization: `Bearer ${await signToken(key)}` },
      });
      assert.equal(res.status, 200);
      return Object.fromEntries(
        (await res.json()).map((
          a: { currency: string; balance: string },
        ) => [a.currency, a.balance]),
      );
    };
    assert.deepEqual(await balances(alice), { KRW: "1000000" });
    assert.deepEqual(await balances(bob), { KRW: "5000.5", BTC: "0.1" });
    // "permissions": only bob's key holds 출금조회 (alice's has the default trading groups).
    const withdrawChance = async (key: { accessKey: string; secretKey: string }) => {
      const res = await fetch(`http://127.0.0.1:${sb.port}/v1/withdraws/chance?currency=KRW`, {
        headers: {
          authorization: `Bearer ${await signToken(key, { hashed: "currency=KRW" })}`,
        },
      });
      const body = await res.json();
      return [res.status, body.error?.name ?? body.currency.code];
    };
    assert.deepEqual(await withdrawChance(alice), [403, "out_of_scope"]);
    assert.deepEqual(await withdrawChance(bob), [200, "KRW"]);
  } finally {
    out = await sb.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(!out.stdout.includes(alice.secretKey) && !out.stdout.includes(bob.secretKey));

  // A file that cannot be read is one line and exit code 2.
  const bad = await command(["--accounts", "/nonexistent/accounts.json"]).output();
  assert.equal(bad.code, 2);
  assert.match(
    new TextDecoder().decode(bad.stderr),
    /--accounts: cannot read \/nonexistent\/accounts\.json/,
  );
});
