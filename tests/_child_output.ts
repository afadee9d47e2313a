/**
 * A spawned child's piped stdout and stderr read as text while it runs (the end-to-end tests that
 * start `main.ts` or the service unit), and a wait for a match in its stdout.
 */

/** A running child's output so far. */
export interface ChildOutput {
  /** Stdout so far. */
  out(): string;
  /** Stderr so far. */
  err(): string;
  /** Settles once both streams have ended. */
  readonly done: Promise<unknown>;
  /** The first match of `pattern` in stdout (polled every 50 ms); throws naming `what` after `timeoutMs`. */
  waitFor(pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpMatchArray>;
}

/** Starts reading `child`'s piped stdout and stderr. */
export function readOutput(child: Deno.ChildProcess): ChildOutput {
  let out = "";
  let err = "";
  const read = async (stream: ReadableStream<Uint8Array>, into: (t: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) into(decoder.decode(chunk, { stream: true }));
  };
  const done = Promise.all([
    read(child.stdout, (t) => out += t),
    read(child.stderr, (t) => err += t),
  ]);
  return {
    out: () => out,
    err: () => err,
    done,
    async waitFor(pattern, what, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const m = out.match(pattern);
        if (m !== null) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${what} within ${timeoutMs} ms:\n${out.slice(-3000)}\n${err}`);
    },
  };
}
