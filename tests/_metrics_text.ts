/** Reads a Prometheus text exposition (the `/metrics` page, `Telemetry.text()`) in the tests. */

/** The sample lines of a metrics text as `name{labels}` → value. */
export function samplesOf(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
