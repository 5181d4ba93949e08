/**
 * Helpers the ui-tests share for a notebook's cells.
 */
import { expect } from "@jupyterlab/galata";

/** nbformat 4.5 with a Python 3 kernel: the start of every notebook a test writes. */
export const NOTEBOOK_HEADER = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: {
      name: "python3",
      display_name: "Python 3",
      language: "python",
    },
  },
};

/** Set cell `index` of the current notebook to `text` through the model (typed text would be auto-indented, and slow). */
export async function setSource(
  page: any,
  index: number,
  text: string,
): Promise<void> {
  await page.evaluate(
    ([i, source]: [number, string]) => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      panel.content.widgets[i].model.sharedModel.setSource(source);
    },
    [index, text] as [number, string],
  );
}

/** Run cell `index` and wait for the notebook's one profile view; returns it. */
export async function runProfiled(page: any, index: number): Promise<any> {
  await page.notebook.runCell(index, true);
  const profile = page.locator(".jp-OutputArea-output .jp-ScaleneProfile");
  await expect(profile).toHaveCount(1, { timeout: 60000 });
  return profile;
}
