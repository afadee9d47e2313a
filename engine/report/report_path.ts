/**
 * Where `--html FILE` writes: a relative FILE goes under `reports/` (ignored by git), so chart
 * reports never land untracked beside the code. An absolute FILE, or one that climbs out with
 * `../`, is used as given.
 */

import { isAbsolute, join, normalize, sep } from "node:path";

/** The folder, relative to the working folder, that relative report names are written under. */
export const REPORTS_DIR = "reports";

/** `report.html` → `reports/report.html`; `reports/x.html`, `../x.html`, `/tmp/x.html` unchanged. */
export function htmlReportPath(file: string): string {
  if (isAbsolute(file)) return file;
  const path = normalize(file);
  if (path.startsWith("..") || path.startsWith(REPORTS_DIR + sep)) return path;
  return join(REPORTS_DIR, path);
}
