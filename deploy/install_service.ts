/**
 * `deno task install-service`: renders deploy/upbit-trader.service for this checkout and a mode
 * (paper or live), and installs it. Run as root on the VPS it creates the service user, the data
 * folder (0700, the user's), the root-only environment file (0600 in a 0700 folder, never
 * overwritten) and Deno's cache folder, then writes the unit and prints the systemctl commands.
 *
 *   deno task install-service [--mode paper|live] [--binary PATH] [--user NAME] [--root DIR]
 *                             [--dry-run]
 *
 * `--root DIR` writes everything under a staging root and creates no user (tests, packaging);
 * `--dry-run` prints the unit and the steps and writes nothing. A mistake is one line, exit 2.
 */

import { parseArgs } from "node:util";

/** What to install. */
export interface InstallOptions {
  /** paper or live: the task (or binary argument) the unit runs. */
  readonly mode: "paper" | "live";
  /** The checkout (or the folder of the compiled binary): the unit's WorkingDirectory. */
  readonly installDir: string;
  /** The service user (and its group). */
  readonly user: string;
  /** The deno executable (`deno task <mode>`), unless `binary` is given. */
  readonly deno: string;
  /** The compiled binary (`deno task compile`) to run instead of `deno task`. */
  readonly binary: string | undefined;
  /** Prefix of every path written; "/" on the VPS. A staging root creates no user. */
  readonly root: string;
  /** Print only. */
  readonly dryRun: boolean;
}

/** The paths the unit names (absolute, as on the target machine). */
export interface UnitPaths {
  readonly unitFile: string;
  readonly envDir: string;
  readonly envFile: string;
  readonly dataDir: string;
  readonly denoDir: string;
}

/** What the process gives the installer. */
export interface InstallIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The effective user id (0: root). */
  readonly uid: number;
  /** Runs a system command (getent, useradd); its exit code and stdout. */
  readonly run: (cmd: string, args: readonly string[]) => Promise<{ code: number; out: string }>;
}

const SERVICE = "upbit-trader";
const TEMPLATE = new URL("./upbit-trader.service", import.meta.url);
/** Where ProtectHome=true hides everything from the service. */
const HIDDEN = ["/home", "/root", "/run/user"];

/** The unit's paths for an install folder. */
export function unitPaths(installDir: string): UnitPaths {
  return {
    unitFile: `/etc/systemd/system/${SERVICE}.service`,
    envDir: `/etc/${SERVICE}`,
    envFile: `/etc/${SERVICE}/env`,
    dataDir: `${installDir}/data`,
    denoDir: `/var/cache/${SERVICE}/deno`,
  };
}

/** The command line the unit starts. */
export function execStart(options: Pick<InstallOptions, "mode" | "deno" | "binary">): string {
  return options.binary === undefined
    ? `${options.deno} task ${options.mode}`
    : `${options.binary} ${options.mode}`;
}

/** The unit file's text for `options`. */
export async function renderUnit(options: InstallOptions): Promise<string> {
  const paths = unitPaths(options.installDir);
  const values: Record<string, string> = {
    MODE: options.mode,
    USER: options.user,
    INSTALL_DIR: options.installDir,
    ENV_FILE: paths.envFile,
    DENO_DIR: paths.denoDir,
    DATA_DIR: paths.dataDir,
    EXEC_START: execStart(options),
  };
  const template = await Deno.readTextFile(TEMPLATE);
  return template.replace(/@([A-Z_]+)@/g, (whole, name: string) => values[name] ?? whole);
}

/** The environment file's first text: settings to fill in, every secret commented out. */
export function envTemplate(mode: "paper" | "live"): string {
  return [
    "# upbit-trader's environment: systemd's EnvironmentFile, root-only (0600). KEY=value lines,",
    "# no quotes, no spaces around '='. Every variable: README \"Configuration\".",
    "LOG_FORMAT=json",
    "MARKETS=KRW-BTC",
    "# CAPITAL_KRW=100000",
    "# TELEGRAM_BOT_TOKEN=",
    "# TELEGRAM_OWNER_ID=",
    "# TELEGRAM_MODE=polling",
    "# HTTP_PORT=8080",
    "# WEB_PASSWORD=",
    ...(mode === "live"
      ? [
        "# Live: keys with 자산조회, 주문조회 and 주문하기 only (never withdrawals), the cap, the consent.",
        "# UPBIT_ACCESS_KEY=",
        "# UPBIT_SECRET_KEY=",
        "# LIVE_CAPITAL_LIMIT_KRW=100000",
        "# UPBIT_TRADER_REAL_MONEY=yes",
      ]
      : []),
    "",
  ].join("\n");
}

/** Why the options cannot work, in one line; undefined when they can. */
async function refusal(options: InstallOptions): Promise<string | undefined> {
  const exe = options.binary ?? options.deno;
  const named: ReadonlyArray<readonly [string, string]> = [
    ["--dir", options.installDir],
    ["the executable", exe],
  ];
  for (const [label, path] of named) {
    if (!path.startsWith("/")) return `${label}: ${path}: must be an absolute path`;
    const hidden = HIDDEN.find((h) => path === h || path.startsWith(`${h}/`));
    if (hidden !== undefined) {
      return `${label}: ${path} is under ${hidden}, which ProtectHome hides from the service ` +
        "(put it in /opt or /usr/local)";
    }
  }
  if (/\s/.test(options.installDir)) return `--dir: ${options.installDir}: must not contain spaces`;
  const checkout = "is --dir the checkout?";
  const must: [string, string, string][] = options.binary === undefined
    ? [
      ["--dir", `${options.installDir}/main.ts`, checkout],
      ["--dir", `${options.installDir}/deno.json`, checkout],
      ["--deno", options.deno, "the deno executable"],
    ]
    : [["--binary", options.binary, "build it with deno task compile"]];
  for (const [flag, path, hint] of must) {
    if (!await exists(path)) return `${flag}: ${path}: not found (${hint})`;
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(options.user)) {
    return `--user: ${options.user}: expected a system user name`;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Installs (or prints) the service; the exit code. */
export async function installService(options: InstallOptions, io: InstallIo): Promise<number> {
  const refused = await refusal(options);
  if (refused !== undefined) {
    io.stderr(`install-service: ${refused}\n`);
    return 2;
  }
  const paths = unitPaths(options.installDir);
  const unit = await renderUnit(options);
  const staging = options.root !== "/";
  const at = (path: string) => staging ? `${options.root.replace(/\/$/, "")}${path}` : path;
  // Only root can give files away; a staging root never creates a user, but uses an existing one.
  const createUser = !staging && io.uid === 0;
  if (!staging && io.uid !== 0 && !options.dryRun) {
    io.stderr("install-service: run it as root (sudo), or with --root DIR or --dry-run\n");
    return 2;
  }
  const log = (line: string) => io.stdout(`${options.dryRun ? "would " : ""}${line}\n`);
  if (options.dryRun) io.stdout(`${at(paths.unitFile)}:\n${unit}\n`);

  let owner = io.uid === 0 ? await userIds(options.user, io) : undefined;
  if (createUser && owner === undefined) {
    log(`create the system user ${options.user}`);
    if (!options.dryRun) {
      const made = await io.run("useradd", [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        options.user,
      ]);
      owner = made.code === 0 ? await userIds(options.user, io) : undefined;
      if (owner === undefined) {
        io.stderr(`install-service: --user: cannot create ${options.user} (useradd failed)\n`);
        return 1;
      }
    }
  }
  // Who the service's folders go to; a staging root without that user leaves them as they are.
  const ownText = owner !== undefined || createUser
    ? `, owner ${options.user} with what it holds`
    : `, owner unchanged: ${io.uid === 0 ? `no user ${options.user} here` : "not root"}`;
  const folder = async (path: string, mode: number, own: boolean) => {
    log(`create ${at(path)} (mode ${mode.toString(8)}${own ? ownText : ""})`);
    if (options.dryRun) return;
    // Parents as usual (0755: the user must pass through them); the folder itself `mode`.
    await Deno.mkdir(at(path).replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.mkdir(at(path), { recursive: true });
    await Deno.chmod(at(path), mode);
    // A store made before (a paper run as root) must be the service's to open.
    if (own && owner !== undefined) await chownTree(at(path), owner);
  };
  await folder(paths.dataDir, 0o700, true);
  await folder(paths.denoDir, 0o700, true);
  await folder(paths.envDir, 0o700, false);
  if (await exists(at(paths.envFile))) {
    log(`keep ${at(paths.envFile)} as it is (mode set to 600)`);
    if (!options.dryRun) await Deno.chmod(at(paths.envFile), 0o600);
  } else {
    log(`write ${at(paths.envFile)} (mode 600: fill in the settings)`);
    if (!options.dryRun) {
      await Deno.writeTextFile(at(paths.envFile), envTemplate(options.mode), { mode: 0o600 });
      await Deno.chmod(at(paths.envFile), 0o600);
    }
  }
  log(`write ${at(paths.unitFile)}`);
  if (!options.dryRun) {
    await Deno.mkdir(at(paths.unitFile.replace(/\/[^/]+$/, "")), { recursive: true });
    await Deno.writeTextFile(at(paths.unitFile), unit, { mode: 0o644 });
  }
  io.stdout(nextSteps(options, paths));
  return 0;
}

/** `path` and everything under it to `owner` (symbolic links themselves, not their targets). */
async function chownTree(path: string, owner: { uid: number; gid: number }): Promise<void> {
  await Deno.chown(path, owner.uid, owner.gid);
  for await (const entry of Deno.readDir(path)) {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) await chownTree(child, owner);
    else if (!entry.isSymlink) await Deno.chown(child, owner.uid, owner.gid);
  }
}

/** The commands that finish the install, printed at the end. */
function nextSteps(options: InstallOptions, paths: UnitPaths): string {
  const cache = options.binary === undefined
    ? [
      `  sudo env DENO_DIR=${paths.denoDir} ${options.deno} cache --lock=deno.lock main.ts` +
      `   # in ${options.installDir}`,
      `  sudo chown -R ${options.user}: ${paths.denoDir}`,
    ]
    : [];
  return [
    "",
    "Next:",
    `  sudoedit ${paths.envFile}   # the settings and secrets (stays 0600)`,
    ...cache,
    "  sudo systemctl daemon-reload",
    `  sudo systemctl enable --now ${SERVICE}`,
    `  journalctl -u ${SERVICE} -f`,
    "",
  ].join("\n");
}

/** The user's uid and gid, or undefined when there is no such user. */
async function userIds(
  user: string,
  io: InstallIo,
): Promise<{ uid: number; gid: number } | undefined> {
  const found = await io.run("getent", ["passwd", user]);
  if (found.code !== 0) return undefined;
  const [, , uid, gid] = found.out.trim().split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** How to call it (`--help`). */
export const USAGE = `Usage: deno task install-service [options]

Renders deploy/upbit-trader.service for this checkout and installs it (run as root), or writes
it under a staging root.

  --mode paper|live   what the service runs (default paper)
  --binary PATH       run the compiled binary (deno task compile) instead of deno task
  --dir DIR           the install folder, the service's working folder (default this checkout)
  --deno PATH         the deno executable (default the one running this)
  --user NAME         the service user, created when missing (default upbit-trader)
  --root DIR          write every file under DIR, create no user (a staging root)
  --dry-run           print the unit and the steps, write nothing
`;

/** The options of a command line; a string is the one-line refusal ("help": print USAGE). */
export function parseInstallArgs(
  args: readonly string[],
  defaults: { readonly installDir: string; readonly deno: string },
): InstallOptions | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        mode: { type: "string", default: "paper" },
        dir: { type: "string", default: defaults.installDir },
        user: { type: "string", default: SERVICE },
        deno: { type: "string", default: defaults.deno },
        binary: { type: "string" },
        root: { type: "string", default: "/" },
        "dry-run": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    return (error as Error).message.split("\n")[0]!;
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (v.mode !== "paper" && v.mode !== "live") {
    return `--mode: ${v.mode}: expected paper or live`;
  }
  if (v.root === "") return "--root: must not be empty";
  return {
    mode: v.mode,
    installDir: v.dir.replace(/(.)\/+$/, "$1"),
    user: v.user,
    deno: v.deno,
    binary: v.binary,
    root: v.root,
    dryRun: v["dry-run"],
  };
}

if (import.meta.main) {
  const write = (stream: { writeSync(p: Uint8Array): number }) => (text: string) => {
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i < bytes.length;) i += stream.writeSync(bytes.subarray(i));
  };
  const stderr = write(Deno.stderr);
  const options = parseInstallArgs(Deno.args, {
    installDir: decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, ""),
    deno: Deno.execPath(),
  });
  if (options === "help") {
    write(Deno.stdout)(USAGE);
    Deno.exit(0);
  }
  if (typeof options === "string") {
    stderr(`install-service: ${options}\n`);
    Deno.exit(2);
  }
  Deno.exit(
    await installService(options, {
      stdout: write(Deno.stdout),
      stderr,
      uid: Deno.uid() ?? -1,
      run: async (cmd, args) => {
        const out = await new Deno.Command(cmd, {
          args: [...args],
          stdout: "piped",
          stderr: "null",
        })
          .output();
        return { code: out.code, out: new TextDecoder().decode(out.stdout) };
      },
    }),
  );
}
