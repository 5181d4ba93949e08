/**
 * The JupyterLab experience around a profile: the Scalene sidebar (lists
 * runs, leads to the line, compares two runs), line heat in the editors
 * (appears, clears on edit, toggles), and the Profile Cell commands.
 */
import { expect, test } from "@jupyterlab/galata";
import { NOTEBOOK_HEADER, setSource } from "./cells";
// The profiles saved from real kernels, shared with the extension's jest tests.
import { loadFixture } from "../../lab-extension/src/__tests__/fixtures";

const HELPER = [
  "def busy(n):",
  "    s = 0",
  "    for i in range(n):",
  "        s += i * i",
  "    return s",
].join("\n");
const PROFILED = [
  "%%scalene --cpu-only",
  "x = busy(2_500_000)",
  "total = 0",
  "for i in range(1_500_000):",
  "    total += i",
].join("\n");

async function twoCells(page: any, name: string): Promise<void> {
  await page.notebook.createNew(name);
  await page.notebook.setCell(0, "code", "");
  await setSource(page, 0, HELPER);
  await page.notebook.addCell("code", "");
  await setSource(page, 1, PROFILED);
  await page.notebook.runCell(0, true);
  await page.notebook.runCell(1, true);
  await expect(
    page.locator(".jp-OutputArea-output .jp-ScaleneProfile"),
  ).toHaveCount(1, { timeout: 60000 });
}

test.describe("Scalene sidebar", () => {
  test("lists the run, opens it, and leads to the line in the earlier cell", async ({
    page,
  }) => {
    await twoCells(page, "sidebar.ipynb");
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute("scalene-lab:show-sidebar"),
    );
    const sidebar = page.locator(".jp-ScaleneSidebar");
    await expect(sidebar).toBeVisible();
    const entries = sidebar.locator(".jp-ScaleneSidebar-entry");
    await expect(entries).toHaveCount(1, { timeout: 10000 });
    await expect(entries.first()).toContainText("In [2]");
    await expect(entries.first()).toContainText("line");
    // The tiny sparkline of CPU samples over time.
    await expect(entries.first().locator("svg path").first()).toBeAttached({
      timeout: 20000,
    });
    await entries.first().click();
    const detail = sidebar.locator(
      ".jp-ScaleneSidebar-detail .jp-ScaleneProfile",
    );
    await expect(detail).toBeVisible();

    // A line of the earlier cell (In [1], whose function ran): the notebook
    // goes to that cell and puts the cursor on that line.
    const helperRow = detail
      .locator("section")
      .nth(1)
      .locator('tr[data-lineno="4"]');
    await expect(helperRow.locator("code")).toHaveText("        s += i * i");
    await helperRow.click();
    const where = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      const cell = panel.content.activeCell;
      return {
        index: panel.content.activeCellIndex,
        line: cell.editor.getCursorPosition().line,
      };
    });
    expect(where).toEqual({ index: 0, line: 3 });

    // A second run of the cell: the first stays listed and the two compare.
    await page.notebook.runCell(1, true);
    await expect(entries).toHaveCount(2, { timeout: 20000 });
    await expect(entries.nth(1)).toContainText("earlier run");
    await entries.first().click();
    const compare = sidebar.locator(".jp-ScaleneSidebar-compareWith");
    await compare.selectOption({ index: 1 });
    const table = sidebar.locator(".jp-ScaleneProfile-compareTable");
    await expect(table).toBeVisible();
    await expect(table.locator("tbody tr")).toHaveCount(5); // the cell's five lines, unchanged
    await expect(
      sidebar.locator(".jp-ScaleneProfile-compareSummary"),
    ).toContainText(" s → ");
  });
});

test.describe("Scalene sidebar of a saved notebook", () => {
  test("lists the saved profiles after reopening (reference screenshot)", async ({
    page,
    tmpPath,
  }) => {
    const cells = ["mixed", "memory"].map((name, i) => {
      const profile = loadFixture(name);
      const key = profile.notebook.profiled_source;
      return {
        cell_type: "code",
        id: `saved-${name}`,
        execution_count: i + 1,
        metadata: {},
        source: profile.files[key].lines.map((l: any) => l.line).join(""),
        outputs: [
          {
            output_type: "display_data",
            metadata: {},
            data: {
              "application/vnd.scalene.profile+json": profile,
              "text/plain": "profile",
            },
          },
        ],
      };
    });
    const notebook = {
      ...NOTEBOOK_HEADER,
      cells,
    };
    await page.contents.uploadContent(
      JSON.stringify(notebook),
      "text",
      `${tmpPath}/saved-sidebar.ipynb`,
    );
    await page.filebrowser.open(`${tmpPath}/saved-sidebar.ipynb`);
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute("scalene-lab:show-sidebar"),
    );
    const sidebar = page.locator(".jp-ScaleneSidebar");
    const entries = sidebar.locator(".jp-ScaleneSidebar-entry");
    await expect(entries).toHaveCount(2);
    await expect(entries.nth(1)).toContainText("peak");
    await entries.nth(1).click();
    await expect(
      sidebar.locator(".jp-ScaleneSidebar-detail .jp-ScaleneProfile-summary"),
    ).toContainText("%%scalene");
    await expect(
      sidebar
        .locator(".jp-ScaleneSidebar-detail .jp-ScaleneProfile-header svg path")
        .first(),
    ).toBeAttached({ timeout: 20000 });
    await expect(sidebar).toHaveScreenshot("sidebar.png", {
      maxDiffPixelRatio: 0.02,
    });
  });
});

test.describe("line heat", () => {
  test("marks the profiled lines, clears a cell on edit, and toggles", async ({
    page,
  }) => {
    await twoCells(page, "heat.ipynb");
    const cells = page.locator(".jp-Notebook .jp-CodeCell");
    const helperMarks = cells.nth(0).locator(".jp-ScaleneHeat-mark");
    const cellMarks = cells.nth(1).locator(".jp-ScaleneHeat-mark");
    await expect(helperMarks.first()).toBeVisible({ timeout: 10000 });
    await expect(cellMarks.first()).toBeVisible();
    // The hottest line of busy() is its loop body, with the numbers on hover.
    const hottest = helperMarks.and(page.locator(".jp-ScaleneHeat-level5"));
    await expect(hottest).toHaveCount(1);
    expect(["3", "4"]).toContain(await hottest.getAttribute("data-line"));
    await expect(hottest).toHaveAttribute("title", /^CPU \d+\.\d% \(Python/);

    // Editing the profiled cell clears its heat; the other cell keeps its own.
    await cells.nth(1).locator(".cm-content").click();
    await page.keyboard.press("End");
    await page.keyboard.type("  # edited");
    await expect(cellMarks).toHaveCount(0, { timeout: 5000 });
    await page.waitForTimeout(600); // past the refresh that follows the edit
    await expect(cellMarks).toHaveCount(0);
    await expect(helperMarks.first()).toBeVisible();

    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute("scalene-lab:toggle-heat"),
    );
    await expect(helperMarks).toHaveCount(0, { timeout: 5000 });
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute("scalene-lab:toggle-heat"),
    );
    await expect(helperMarks.first()).toBeVisible({ timeout: 5000 });
  });
});

test.describe("Scalene commands", () => {
  test("are in the palette and profile a cell with memory without changing it", async ({
    page,
  }) => {
    await page.notebook.createNew("commands.ipynb");
    await page.notebook.setCell(0, "code", "");
    const source = "blocks = [bytearray(1 << 20) for _ in range(64)]";
    await setSource(page, 0, source);
    const labels = await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      return [
        "scalene-lab:profile-cell-cpu",
        "scalene-lab:profile-cell-memory",
        "scalene-lab:show-sidebar",
        "scalene-lab:toggle-heat",
      ].map((id: string) => app.commands.label(id));
    });
    expect(labels).toEqual([
      "Profile Cell (CPU)",
      "Profile Cell (CPU + Memory)",
      "Show Scalene Sidebar",
      "Toggle Line Heat",
    ]);
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute(
        "apputils:activate-command-palette",
      ),
    );
    await page.locator("#modal-command-palette input").fill("Profile Cell");
    const palette = page.locator("#modal-command-palette");
    await expect(
      palette.locator(".lm-CommandPalette-item", {
        hasText: "Profile Cell (CPU + Memory)",
      }),
    ).toBeVisible();
    await expect(
      palette.locator(".lm-CommandPalette-header", { hasText: "Scalene" }),
    ).toHaveCount(1);
    await page.keyboard.press("Escape");

    await page.notebook.selectCells(0);
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute(
        "scalene-lab:profile-cell-memory",
      ),
    );
    const summary = page.locator(
      ".jp-OutputArea-output .jp-ScaleneProfile-summary",
    );
    await expect(summary).toContainText("memory by hot-attach", {
      timeout: 60000,
    });
    const kept = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      const model = panel.content.widgets[0].model;
      return {
        source: model.sharedModel.getSource(),
        count: model.executionCount,
      };
    });
    expect(kept.source).toBe(source);
    expect(kept.count).toBeGreaterThan(0);
    const alloc = page
      .locator(".jp-OutputArea-output tr")
      .filter({ hasText: "bytearray" })
      .locator('td[data-column="malloc"]');
    expect(parseFloat((await alloc.textContent()) ?? "0")).toBeGreaterThan(50);
  });

  test("the settings are in the Settings Editor", async ({ page }) => {
    const schema = await page.evaluate(async () => {
      const app = (window as any).jupyterapp;
      const registry = await app.serviceManager.settings.fetch(
        "scalene-lab:commands",
      );
      return Object.keys(registry.schema.properties);
    });
    expect(schema).toEqual(["magicOptions", "heat", "displayMode", "sort"]);
  });
});
