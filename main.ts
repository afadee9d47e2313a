/**
 * upbit-trader's entry point: the only place that picks a mode and touches the process
 * (arguments, environment, exit codes).
 *
 *   deno task backtest [options]    run a strategy over real Upbit candles (see --help)
 */

import { runBacktestCommand } from "./engine/cli/backtest_command.ts";

const USAGE = `Usage: deno run -A main.ts <mode> [options]

Modes:
  backtest   run a strategy with the risk manager over real Upbit candles (--help for options)
`;

const encoder = new TextEncoder();

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

async function main(args: string[]): Promise<number> {
  const [mode, ...rest] = args;
  switch (mode) {
    case "backtest":
      return await runBacktestCommand(rest, {
        stdout: (text) => write(Deno.stdout, text),
        stderr: (text) => write(Deno.stderr, text),
        isTerminal: Deno.stderr.isTerminal(),
        dataDir: new URL("./data", import.meta.url).pathname,
        nowMs: () => performance.now(),
      });
    case undefined:
    case "--help":
    case "help":
      write(Deno.stdout, USAGE);
      return mode === undefined ? 2 : 0;
    default:
      write(Deno.stderr, `upbit-trader: unknown mode "${mode}"\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
