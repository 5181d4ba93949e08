/**
 * scalene-lab in a real JupyterLab: a fresh notebook (no %load_ext) runs a
 * %%scalene cell and the profile renders as a table of the cell's lines,
 * with memory columns when the allocator attached.
 */
import * as fs from "fs";
import * as path from "path";
import { expect, test } from "@jupyterlab/galata";
import { NOTEBOOK_HEADER, runProfiled, setSource } from "./cells";
// The profiles saved from real kernels, shared with the extension's jest tests.
import {
  loadFixture,
  sortKeys,
} from "../../lab-extension/src/__tests__/fixtures";

// The indented line comes last: the editor auto-indents typed text.
const CELL = [
  "%%scalene",
  "import time",
  "time.sleep(0.3)",
  "total = 0",
  "for i in range(12_000_000):",
  "    total += i",
].join("\n");

test.describe("%%scalene in JupyterLab", () => {
  test("profiles a cell without %load_ext and renders its lines", async ({
    page,
  }) => {
    await page.notebook.createNew("profile.ipynb");
    await page.notebook.setCell(0, "code", CELL);
    await page.notebook.runCell(0, true);

    const profile = page.locator(".jp-OutputArea-output .jp-ScaleneProfile");
    await expect(profile).toHaveCount(1, { timeout: 60000 });
    await expect(profile.locator(".jp-ScaleneProfile-summary")).toContainText(
      "%%scalene",
    );

    const rows = profile.locator("section").first().locator("tbody tr");
    await expect(rows).toHaveCount(6);
    const loopLine = rows.nth(5);
    await expect(loopLine.locator("code")).toHaveText("    total += i");
    await expect(loopLine.locator(".jp-ScaleneProfile-python")).toHaveCount(1);
    // The loop's `for` line and its body share its Python time, by instruction.
    const loopHead = rows.nth(4);
    await expect(loopHead.locator("code")).toHaveText(
      "for i in range(12_000_000):",
    );
    const share = async (row: typeof loopLine) =>
      parseFloat(
        (await row.locator('td[data-column="python"]').textContent()) ?? "",
      ) || 0;
    const python = (await share(loopLine)) + (await share(loopHead));
    // 12M iterations (about 0.7 s unprofiled here) against the 0.3 s sleep:
    // 3M took under 0.2 s, so the loop was only a third of the cell.
    expect(python).toBeGreaterThan(30);

    const sleepLine = rows.nth(2);
    await expect(sleepLine.locator("code")).toHaveText("time.sleep(0.3)");
    const system = parseFloat(
      (await sleepLine.locator('td[data-column="system"]').textContent()) ??
        "0",
    );
    expect(system).toBeGreaterThan(5);

    // A click on the Python header puts the heaviest Python line first; a
    // click on the Line header puts the source order back.
    const table = profile.locator("section").first().locator("table").first();
    const heaviest = Math.max(await share(loopLine), await share(loopHead));
    await table.locator('th[data-column="python"] button').click();
    await expect(table.locator('th[data-column="python"]')).toHaveAttribute(
      "aria-sort",
      "descending",
    );
    const first = table.locator("tbody tr").first();
    expect(await share(first)).toBeCloseTo(heaviest, 5);
    await table.locator('th[data-column="lineno"] button').click();
    await expect(rows.nth(5).locator("code")).toHaveText("    total += i");

    // The static fallbacks travel in the same bundle, for other frontends.
    const outputs = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      return panel.content.widgets[0].model.outputs.toJSON();
    });
    const data = (outputs as any[])[0].data;
    expect(Object.keys(data).sort()).toEqual([
      "application/vnd.scalene.profile+json",
      "text/html",
      "text/plain",
    ]);
  });
});

test.describe("memory in JupyterLab", () => {
  test("a memory profile shows peak, allocation and copy columns", async ({
    page,
  }) => {
    await page.notebook.createNew("memory.ipynb");
    // Set through the model: typed brackets would be auto-closed by the editor.
    const source = [
      "%%scalene",
      "blocks = [bytearray(1024 * 1024) for _ in range(120)]",
      "copies = [bytes(b) for b in blocks]",
    ].join("\n");
    await setSource(page, 0, source);
    const profile = await runProfiled(page, 0);
    await expect(profile.locator(".jp-ScaleneProfile-summary")).toContainText(
      "memory by hot-attach",
    );

    // The cell's section: its lines' table first, then its functions'.
    const table = profile.locator("section").first().locator("table").first();
    const headers = await table.locator("thead th").allTextContents();
    expect(headers).toEqual(
      expect.arrayContaining([
        "Peak MB",
        "Avg MB",
        "Alloc MB",
        "Churn MB",
        "Copy MB/s",
      ]),
    );
    const number = async (row: number, column: string) =>
      parseFloat(
        (await rows
          .nth(row)
          .locator(`td[data-column="${column}"]`)
          .textContent()) ?? "0",
      ) || 0;

    // 120 blocks of 1 MiB on the first line, copied once on the second.
    const rows = table.locator("tbody tr");
    await expect(rows).toHaveCount(3); // the magic's line, then the cell's two
    await expect(rows.nth(1).locator("code")).toHaveText(
      "blocks = [bytearray(1024 * 1024) for _ in range(120)]",
    );
    const alloc = await number(1, "malloc");
    expect(alloc).toBeGreaterThan(108);
    expect(alloc).toBeLessThan(132);
    // The blocks are kept, so the line's gross volume is what it keeps.
    const churn = await number(1, "churn");
    expect(churn).toBeGreaterThanOrEqual(alloc - 0.05);
    expect(churn).toBeLessThan(132);
    const copy = await number(2, "copy");
    expect(copy).toBeGreaterThan(0);

    // vega (loaded on first use) draws the run's memory over time in the
    // header and the allocating line's timeline in its row.
    const header = profile.locator(
      ".jp-ScaleneProfile-header .jp-ScaleneProfile-sparkline",
    );
    await expect(header.locator("svg path").first()).toBeVisible({
      timeout: 20000,
    });
    await expect(header).toHaveAttribute(
      "aria-label",
      /^Memory over time: .* peak [\d.]+ MB/,
    );
    await expect(
      rows.nth(1).locator('td[data-column="timeline"] svg path').first(),
    ).toBeVisible();
  });
});

// start-jupyterlab.sh gives the kernels the tests' fake NVML; a scenario
// file there makes it report a GPU (none without one).
const SCENARIO = path.join(__dirname, "..", ".fake-nvml", "scenario");

test.describe("GPU in JupyterLab", () => {
  test.afterEach(() => fs.rmSync(SCENARIO, { force: true }));

  test("a profile read from NVML shows the GPU columns and the device", async ({
    page,
  }) => {
    await page.notebook.createNew("gpu.ipynb");
    // The GPU is 70% busy and the kernel holds 1 GiB on it.
    await page.notebook.setCell(0, "code", "");
    await setSource(
      page,
      0,
      'import os\nopen(os.environ["FAKE_NVML_SCENARIO"], "w").write(f"utilization 70\\nprocess {os.getpid()} 1024\\n")',
    );
    await page.notebook.runCell(0, true);
    await page.notebook.addCell("code", "");
    await setSource(
      page,
      1,
      "%%scalene\nimport time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.8: pass",
    );
    const profile = await runProfiled(page, 1);
    await expect(profile.locator(".jp-ScaleneProfile-gpuFacts")).toContainText(
      "GPU (NVIDIA Fake GPU): up to 70.0% utilisation on a line, peak GPU memory 1024.0 MB",
    );
    const table = profile.locator("section").first().locator("table").first();
    const headers = await table.locator("thead th").allTextContents();
    expect(headers).toEqual(expect.arrayContaining(["GPU %", "GPU MB"]));
    const loop = table.locator("tbody tr").nth(3);
    await expect(loop.locator("code")).toHaveText(
      "while time.perf_counter() - t < 0.8: pass",
    );
    await expect(loop.locator('td[data-column="gpu"]')).toHaveText("70.0%");
    await expect(loop.locator('td[data-column="gpuMemory"]')).toHaveText(
      "1024.0",
    );
  });
});

/** A cell the AI ui-tests profile; the fake OpenAI's answer rewrites its loop. */
const SUMMING_LOOP = [
  "%%scalene --cpu-only",
  "total = 0",
  "for i in range(3_000_000):",
  "    total += i",
];

/** The proposal panel, titled `title`, showing the fake's rewrite of SUMMING_LOOP as a diff. */
async function expectLoopProposal(page: any, title: string): Promise<any> {
  const panel = page.locator(".jp-ScaleneProposal");
  await expect(panel).toBeVisible();
  await expect(panel.locator(".jp-ScaleneProposal-title")).toHaveText(title);
  const diff = panel.getByLabel("Changes to the code");
  await expect(diff).toContainText("+total = sum(range(3_000_000))", {
    timeout: 30000,
  });
  await expect(diff).toContainText("-for i in range(3_000_000):");
  return panel;
}

test.describe("AI proposals", () => {
  test("Optimize on a line shows a proposal; Apply changes the cell, undo restores it, re-profiling compares", async ({
    page,
  }) => {
    // jupyter_server_test_config.py serves a fake OpenAI on loopback whose
    // answer rewrites this loop as sum(range(...)).
    const source = SUMMING_LOOP.join("\n");
    await page.notebook.createNew("optimize.ipynb");
    await page.notebook.setCell(0, "code", "");
    // The notebook's first cell's text (the proposal panel becomes the current widget).
    const cellSource = () =>
      page.evaluate(() => {
        const widgets = Array.from(
          (window as any).jupyterapp.shell.widgets("main"),
        ) as any[];
        const notebook = widgets.find((w) =>
          w.context?.path?.endsWith("optimize.ipynb"),
        );
        return notebook.content.widgets[0].model.sharedModel.getSource();
      });
    await setSource(page, 0, source);
    const profile = await runProfiled(page, 0);

    const loop = profile
      .locator('section table[data-table="line"] tbody tr')
      .filter({ hasText: "total += i" });
    await loop.hover();
    await loop.getByRole("button", { name: "Optimize" }).click();

    const panel = await expectLoopProposal(page, "Optimize line 4 of [1]");
    await expect(panel.locator(".jp-ScaleneProposal-explanation")).toHaveText(
      /built-in sum does the same in C/,
    );
    await expect(panel.locator(".jp-ScaleneProposal-status")).toHaveText(
      /Proposal from OpenAI \(gpt-4o\)/,
    );
    // The provider's model list (the fake OpenAI's three) fills the model field's choices.
    await expect(panel.locator("datalist option")).toHaveCount(3);
    // What a proposal looks like (kept with the test's results).
    await panel.screenshot({ path: test.info().outputPath("ai-proposal.png") });

    await panel.getByRole("button", { name: "Apply to cell" }).click();
    const proposed = "%%scalene --cpu-only\ntotal = sum(range(3_000_000))";
    expect(await cellSource()).toBe(proposed);

    // The editor's own undo takes the proposal back.
    await page.notebook.activate("optimize.ipynb");
    await page.notebook.enterCellEditingMode(0);
    await page.keyboard.press("Control+z");
    await expect.poll(cellSource).toBe(source);
    await page.keyboard.press("Escape");

    // Apply and re-profile: the changed cell runs under the same options and
    // the panel compares the two runs.
    await panel.getByRole("button", { name: "Apply and re-profile" }).click();
    await expect(
      panel.locator(".jp-ScaleneProfile-compareSummary"),
    ).toContainText(/s → .* s \(/, { timeout: 60000 });
    expect(await cellSource()).toBe(proposed);
  });

  test("Optimize Selected Lines, from the cell's context menu, asks about the lines selected in the editor", async ({
    page,
  }) => {
    const source = [...SUMMING_LOOP, "print(total)"].join("\n");
    await page.notebook.createNew("optimize-range.ipynb");
    await page.notebook.setCell(0, "code", "");
    await setSource(page, 0, source);
    await runProfiled(page, 0);

    // Lines 3-4 (the loop) selected with the keyboard, as a user does: the
    // selection ends at the start of line 5, which it does not take.
    await page.notebook.enterCellEditingMode(0);
    await page.keyboard.press("Control+Home");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Shift+ArrowDown");
    await page.keyboard.press("Shift+ArrowDown");
    // The context menu of the cell (on its prompt, so the click keeps the selection).
    await page
      .locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
      .first()
      .click({ button: "right" });
    await page
      .getByRole("menuitem", { name: "Optimize Selected Lines…" })
      .click();

    // The answer is a whole cell (the prompt asks for one, focused on the
    // lines); the fake's fits the loop.
    await expectLoopProposal(page, "Optimize lines 3-4 of [1]");
  });
});

/** The lowest contrast ratio of the profile view's quiet text against its background. */
async function worstContrast(
  page: any,
): Promise<{ worst: number; checked: number }> {
  return page.evaluate(() => {
    const parse = (color: string): number[] =>
      (color.match(/[\d.]+/g) ?? []).map(Number);
    const background = (node: Element | null): number[] => {
      for (; node; node = node.parentElement) {
        const rgba = parse(getComputedStyle(node).backgroundColor);
        if (rgba.length === 3 || (rgba.length === 4 && rgba[3] > 0)) {
          return rgba.slice(0, 3);
        }
      }
      return [255, 255, 255];
    };
    const luminance = (rgb: number[]) =>
      rgb
        .map((v) => v / 255)
        .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const selectors = [
      ".jp-ScaleneProfile-idle code",
      ".jp-ScaleneProfile-lineno",
      ".jp-ScaleneProfile-headerText",
      ".jp-ScaleneProfile-share",
      ".jp-ScaleneProfile-table th",
    ];
    let worst = Infinity;
    const nodes = Array.from(document.querySelectorAll(selectors.join(",")));
    if (!nodes.some((node) => node.matches(".jp-ScaleneProfile-idle code"))) {
      return { worst: 0, checked: 0 }; // no idle line: the check would prove nothing
    }
    for (const node of nodes) {
      const back = background(node);
      const [r, g, b, a = 1] = parse(getComputedStyle(node).color);
      const fore = [r, g, b].map((v, i) => v * a + back[i] * (1 - a));
      const [hi, lo] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
      worst = Math.min(worst, (hi + 0.05) / (lo + 0.05));
    }
    return { worst, checked: nodes.length };
  });
}

test.describe("saved profiles", () => {
  test("render when an untrusted notebook is reopened", async ({
    page,
    tmpPath,
  }) => {
    const profile = loadFixture("mixed");
    const key = profile.notebook.profiled_source;
    const source = profile.files[key].lines.map((l: any) => l.line).join("");
    // Saved as Python's nbformat saves it: keys sorted, so the profiled cell
    // ([3]) no longer comes first among the sources.
    const saved = sortKeys(profile);
    expect(Object.keys(saved.files)[0]).not.toBe(key);
    const notebook = {
      ...NOTEBOOK_HEADER,
      cells: [
        {
          cell_type: "code",
          id: "saved-profile",
          execution_count: 3,
          metadata: {},
          source,
          outputs: [
            {
              output_type: "display_data",
              metadata: {},
              data: {
                "application/vnd.scalene.profile+json": saved,
                "text/plain": "profile",
              },
            },
          ],
        },
      ],
    };
    await page.contents.uploadContent(
      JSON.stringify(notebook),
      "text",
      `${tmpPath}/saved.ipynb`,
    );
    await page.filebrowser.open(`${tmpPath}/saved.ipynb`);
    const view = page.locator(".jp-OutputArea-output .jp-ScaleneProfile");
    await expect(view).toHaveCount(1);
    await expect(view.locator("section").first()).toHaveAttribute(
      "data-source-key",
      key,
    );
    const rows = view.locator(`section[data-source-key="${key}"] tbody tr`);
    await expect(rows).toHaveCount(profile.files[key].lines.length);

    // Idle lines, line numbers and the header's grey text meet WCAG AA
    // (4.5:1) against what is behind them, in the light and the dark theme.
    // Reference screenshots (made on this setup): the saved profile, light then dark.
    await expect(view).toHaveScreenshot("inline-view-light.png", {
      maxDiffPixelRatio: 0.02,
    });
    const light = await worstContrast(page);
    expect(light.checked).toBeGreaterThan(10);
    expect(light.worst).toBeGreaterThanOrEqual(4.5);
    await page.theme.setDarkTheme();
    const dark = await worstContrast(page);
    expect(dark.checked).toBe(light.checked);
    expect(dark.worst).toBeGreaterThanOrEqual(4.5);
    await expect(view).toHaveScreenshot("inline-view-dark.png", {
      maxDiffPixelRatio: 0.02,
    });
    await page.theme.setLightTheme();
    await expect(rows.nth(4).locator("code")).toHaveText("    total += i");

    // Trusted: the same view, same order.
    void page.evaluate(() =>
      (window as any).jupyterapp.commands.execute("notebook:trust"),
    );
    await page.locator(".jp-Dialog .jp-mod-accept").click();
    await expect(page.locator(".jp-Dialog")).toHaveCount(0);
    await expect(view.locator("section").first()).toHaveAttribute(
      "data-source-key",
      key,
    );
    await expect(rows).toHaveCount(profile.files[key].lines.length);
    await expect(rows.nth(4).locator("code")).toHaveText("    total += i");
  });
});

test.describe("full memory profiling kernel", () => {
  test("restarts in Python 3 (Scalene) after confirming, and back; the profiles outlive each restart", async ({
    page,
  }) => {
    await page.notebook.createNew("preload.ipynb");
    await page.notebook.setCell(0, "code", "state = 1");
    await page.notebook.runCell(0, true);

    const command = "scalene-lab:restart-with-memory-profiling";
    void page.evaluate(
      (id) => (window as any).jupyterapp.commands.execute(id),
      command,
    );
    const dialog = page.locator(".jp-Dialog");
    await expect(dialog).toContainText("will be lost");
    await dialog.getByRole("button", { name: "Restart" }).click();
    await expect(page.locator(".jp-KernelName")).toHaveText(
      "Python 3 (Scalene)",
      { timeout: 60000 },
    );

    await page.notebook.setCell(
      0,
      "code",
      "%%scalene\nimport numpy as np\nbig = np.ones(20_000_000)",
    );
    await page.notebook.runCell(0, true);
    const summary = page.locator(
      ".jp-OutputArea-output .jp-ScaleneProfile-summary",
    );
    await expect(summary).toContainText("memory by preload", {
      timeout: 60000,
    });

    void page.evaluate(
      (id) => (window as any).jupyterapp.commands.execute(id),
      "scalene-lab:restart-without-memory-preload",
    );
    await dialog.getByRole("button", { name: "Restart" }).click();
    await expect(page.locator(".jp-KernelName")).not.toHaveText(
      "Python 3 (Scalene)",
      { timeout: 60000 },
    );

    // The profile outlives the kernel that made it: still drawn, still in
    // the sidebar, and the new kernel profiles the next cell.
    await expect(summary).toContainText("memory by preload");
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute("scalene-lab:show-sidebar"),
    );
    const entries = page.locator(".jp-ScaleneSidebar .jp-ScaleneSidebar-entry");
    await expect(entries).toHaveCount(1);
    await page.notebook.addCell(
      "code",
      "%%scalene\nimport numpy as np\nagain = np.ones(10_000_000)",
    );
    await page.notebook.runCell(1, true);
    await expect(
      page.locator(".jp-OutputArea-output .jp-ScaleneProfile-summary").nth(1),
    ).toContainText("memory by hot-attach", { timeout: 60000 });
    await expect(entries).toHaveCount(2);
  });
});
