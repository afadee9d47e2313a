/**
 * The environment of a child `deno run` that must see nothing of this one's (with `clearEnv`):
 * only what Deno needs to start (PATH, HOME, the module cache) and no colours, plus `extra`.
 */

/** PATH, HOME, DENO_DIR when set, NO_COLOR=1, then `extra`. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const denoDir = Deno.env.get("DENO_DIR");
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(denoDir === undefined ? {} : { DENO_DIR: denoDir }),
    NO_COLOR: "1",
    ...extra,
  };
}
