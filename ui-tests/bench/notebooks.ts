/**
 * What the browser benchmarks share: large profiles grown from a real one,
 * the same lines as text, notebooks of them, and the timing of opening one
 * in JupyterLab until its outputs are drawn.
 */
import { NOTEBOOK_HEADER } from "../tests/cells";
// The profiles saved from real kernels, shared with the extension's jest tests.
import { loadFixture } from "../../lab-extension/src/__tests__/fixtures";

/** The profile view's MIME type. */
export const MIME = "application/vnd.scalene.profile+json";

/** A real profile (mixed.json) grown to `count` sampled lines. */
export function profileOf(count: number, seed: number): any {
  const profile = loadFixture("mixed");
  const key = profile.notebook.profiled_source;
  const template = profile.files[key].lines.find((l: any) =>
    l.line.includes("total += i"),
  );
  const weight = (i: number) => ((i * 7919 + seed) % 97) + 1;
  const total = Array.from({ length: count }, (_, i) => weight(i)).reduce(
    (a, b) => a + b,
    0,
  );
  profile.files[key].lines = Array.from({ length: count }, (_, i) => ({
    ...template,
    lineno: i + 1,
    line: `value_${i} = compute(${i}, data[${i % 17}])  # generated line ${i + 1}\n`,
    cpu_samples_list: [],
    n_cpu_percent_python: (80 * weight(i)) / total,
    n_cpu_percent_c: (10 * weight(i)) / total,
    n_sys_percent: 0,
  }));
  profile.files[key].percent_cpu_time = 90;
  for (const other of Object.keys(profile.files).filter((k) => k !== key)) {
    profile.files[other].percent_cpu_time = 10;
  }
  return profile;
}

/** A profile as the kernel shows it: a display_data output of the profile MIME type. */
export function profileOutput(profile: any): any {
  return {
    output_type: "display_data",
    metadata: {},
    data: { [MIME]: profile, "text/plain": "profile" },
  };
}

/** The same lines as plain text: what the notebook would hold without the renderer. */
export function textOf(profile: any): string {
  const key = profile.notebook.profiled_source;
  return profile.files[key].lines
    .map(
      (l: any) =>
        `${String(l.lineno).padStart(5)} ${l.n_cpu_percent_python.toFixed(1).padStart(6)}% ${l.n_cpu_percent_c.toFixed(1).padStart(6)}%  ${l.line}`,
    )
    .join("");
}

export function notebook(outputs: any[][]): string {
  return JSON.stringify({
    ...NOTEBOOK_HEADER,
    cells: outputs.map((cellOutputs, i) => ({
      cell_type: "code",
      id: `cell-${i}`,
      execution_count: i + 1,
      metadata: {},
      source: `result_${i} = run(${i})`,
      outputs: cellOutputs,
    })),
  });
}

/** Open `file`, wait until `count` outputs matching `selector` are drawn; then time cell clicks. */
export async function measure(
  page: any,
  file: string,
  selector: string,
  count: number,
): Promise<ITimes> {
  return page.evaluate(
    async ([target, wanted, expected]: [string, string, number]) => {
      const app = (window as any).jupyterapp;
      const paint = () =>
        new Promise((resolve) =>
          requestAnimationFrame(() => setTimeout(resolve, 0)),
        );
      performance.clearMeasures();
      const started = performance.now();
      const widget = await app.commands.execute("docmanager:open", {
        path: target,
        factory: "Notebook",
      });
      await widget.context.ready;
      const loaded = performance.now();
      await widget.revealed;
      while (widget.node.querySelectorAll(wanted).length < expected) {
        await paint();
      }
      await paint();
      const open = performance.now() - started;
      const draw = performance.now() - loaded;
      const spent = (name: string) =>
        performance
          .getEntriesByName(name)
          .reduce((sum, e) => sum + e.duration, 0);
      const validate = spent("scalene-lab:validate");
      const render = spent("scalene-lab:render");
      const clicks: number[] = [];
      const cells = widget.content.widgets;
      for (let i = 0; i < 12; i++) {
        const prompt = cells[(i * 7) % cells.length].node.querySelector(
          ".jp-InputPrompt",
        ) as HTMLElement;
        const box = prompt.getBoundingClientRect();
        const begin = performance.now();
        for (const type of ["mousedown", "mouseup", "click"]) {
          prompt.dispatchEvent(
            new MouseEvent(type, {
              bubbles: true,
              cancelable: true,
              button: 0,
              clientX: box.left + 2,
              clientY: box.top + 2,
            }),
          );
        }
        await paint();
        clicks.push(performance.now() - begin);
      }
      clicks.sort((a, b) => a - b);
      widget.context.model.dirty = false;
      widget.dispose();
      await paint();
      return {
        open,
        draw,
        click: clicks[Math.floor(clicks.length / 2)],
        validate,
        render,
      };
    },
    [file, selector, count],
  );
}

export interface ITimes {
  /** From the open command until every output is painted. */
  open: number;
  /** From the file being loaded (fetched and in the model) until every output is painted. */
  draw: number;
  click: number;
  /** Time the renderer spent checking and building the views (its performance measures). */
  validate: number;
  render: number;
}
