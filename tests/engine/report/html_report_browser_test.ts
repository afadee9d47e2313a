/**
 * The HTML backtest report in a real browser: Debian's `chromium` driven by `playwright-core`
 * renders the report of the bundled KRW-BTC daily backtest at 1280×800 and at 360×740 (a phone)
 * and saves both screenshots under `reports/screenshots/`. At 360 px the page must not scroll
 * sideways and every table must fit; no console error may occur; the marker labels must be
 * legible (drawn, inside the chart, none on top of another); each trade's P&L and exit reason
 * must be on screen.
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launchChromium } from "../../_chromium.ts";
import { type CommandIo, runBacktestCommand } from "../../../engine/cli/backtest_command.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const SHOTS = `${ROOT}reports/screenshots`;

/** Writes the report exactly as `deno task backtest --html FILE` does. */
async function writeReport(file: string): Promise<void> {
  let err = "";
  const io: CommandIo = {
    stdout: () => {},
    stderr: (text) => (err += text),
    isTerminal: false,
    dataDir: `${ROOT}data`,
    nowMs: () => 0,
  };
  assert.equal(await runBacktestCommand(["--html", file], io), 0, err);
}

interface Box {
  readonly text: string;
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

interface Layout {
  readonly innerWidth: number;
  readonly scrollWidth: number;
  readonly canvases: number;
  readonly markers: number;
  readonly chart: Box;
  readonly labels: Box[];
  /** The first trade card's P&L and exit reason cells. */
  readonly pnl: Box | null;
  readonly exit: Box | null;
  /** Tables wider than their box (columns reachable only by scrolling the table). */
  readonly hiddenColumns: number;
}

/** Browser code (a string: the test is type-checked without the DOM library) reading a Layout. */
const LAYOUT_JS = `(() => {
  const box = (el) => {
    if (el === null) return null;
    const r = el.getBoundingClientRect();
    return { text: el.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom };
  };
  const data = JSON.parse(document.getElementById("report-data").textContent);
  return {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    canvases: document.querySelectorAll("#price-chart canvas, #equity-chart canvas").length,
    markers: data.markers.length,
    chart: box(document.getElementById("price-labels")),
    labels: [...document.querySelectorAll("#price-labels span")].map(box),
    pnl: box(document.querySelector('table.trades td[data-label="P&L (KRW)"]')),
    exit: box(document.querySelector('table.trades td[data-label="Exit reason"]')),
    hiddenColumns: [...document.querySelectorAll(".scroll")]
      .filter((el) => el.scrollWidth > el.clientWidth).length,
  };
})()`;

/** Reads what the test checks from the rendered page. */
function layout(page: Page): Promise<Layout> {
  return page.evaluate<Layout>(LAYOUT_JS);
}

function overlap(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

function inside(inner: Box, outer: Box): boolean {
  return inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5 &&
    inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
}

Deno.test("the HTML report renders in Chromium at 1280 px and 360 px with legible markers", async () => {
  const work = await Deno.makeTempDir({ prefix: "html-report-" });
  const file = `${work}/report.html`;
  await writeReport(file);
  await Deno.mkdir(SHOTS, { recursive: true });
  const context = await launchChromium(work);
  try {
    for (const [width, height] of [[1280, 800], [360, 740]] as const) {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(msg.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));
      await page.setViewportSize({ width, height });
      await page.goto(`file://${file}`);
      await page.waitForFunction('document.querySelectorAll("#price-labels span").length > 0');
      // Let the label layer settle after the charts' first paint.
      await page.waitForTimeout(300);
      const shown = await layout(page);
      await page.screenshot({ path: `${SHOTS}/report-${width}.png` });

      assert.deepEqual(errors, [], `console errors at ${width} px`);
      assert.ok(shown.canvases >= 4, `both charts drew at ${width} px`);
      assert.ok(shown.markers > 20, "the bundled backtest trades");
      assert.ok(
        shown.scrollWidth <= shown.innerWidth,
        `no sideways scroll at ${width} px: ${shown.scrollWidth} > ${shown.innerWidth}`,
      );
      assert.equal(shown.hiddenColumns, 0, `every table fits at ${width} px`);
      // Legible markers: a few labels (the latest trades), each whole inside the chart, none
      // overlapping another.
      assert.ok(shown.labels.length >= 1 && shown.labels.length <= 7, `${shown.labels.length}`);
      for (const [i, a] of shown.labels.entries()) {
        assert.ok(inside(a, shown.chart), `label "${a.text}" cut at ${width} px`);
        for (const b of shown.labels.slice(i + 1)) {
          assert.ok(!overlap(a, b), `labels "${a.text}" and "${b.text}" overlap at ${width} px`);
        }
      }
      // The first trade's P&L and exit reason are on screen without scrolling sideways.
      for (const cell of [shown.pnl, shown.exit]) {
        assert.ok(cell !== null && cell.left >= 0 && cell.right <= width, JSON.stringify(cell));
      }
      await page.close();
    }
  } finally {
    await context.close();
    await Deno.remove(work, { recursive: true });
  }
});
