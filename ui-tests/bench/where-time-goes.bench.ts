/**
 * Where the time of opening 50 profiles of 1,000 lines goes: a CPU profile
 * of the browser (Chrome's sampling profiler over the DevTools protocol)
 * while the notebook opens, its self time summed by function, and the call
 * chains of the functions that copy output JSON (JupyterLab's
 * `OutputModel` extract and `JSONExt.deepCopy`), with whose code calls
 * them. Opt-in (`SCALENE_LAB_BENCH_PROFILE=1 npm run bench -- --browser`):
 * the sampling profiler slows the page several times over, so its times
 * are shares, not the benchmark's figures.
 */
import { test } from "@jupyterlab/galata";
import { measure, notebook, profileOf, profileOutput } from "./notebooks";

interface ICallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface IProfileNode {
  id: number;
  callFrame: ICallFrame;
  children?: number[];
}

/** A function's name and where it is (bundle file, line, column). */
function where(frame: ICallFrame): string {
  const file = frame.url.split("/").pop()?.split("?")[0] || "(native)";
  return `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber}:${frame.columnNumber}`;
}

/**
 * JupyterLab's JSON copies, recognised by their minified code (a column
 * points at a function's parameter list): OutputModel's extract (stringify,
 * then parse) and JSONExt.deepCopy with its array and object halves.
 */
const COPIES = [
  /^\(\w,\w\)\{let \w=\w\[\w\];return void 0===\w\|\|[\w.]+\.isPrimitive\(\w\)\?\w:JSON\.parse\(JSON\.stringify\(/,
  /^\(\w\)\{return \w\(\w\)\?\w:\w\(\w\)\?\w\(\w\):\w\(\w\)\}/,
  /^\(\w\)\{let \w=Array\(\w\.length\);for\(/,
  /^\(\w\)\{let \w=\{\};for\(let \w in \w\)\{let \w=\w\[\w\];void 0!==\w/,
];
/** The code around a copy that only passes the bundle on: convertBundle, getData. */
const PASSING = [
  /^\(\w\)\{let \w=Object\.create\(null\);for\(let \w in \w\)\w\[\w\]=\w\(\w,\w\)/,
  /^\(\w\)\{let \w=\{\};if\(\w\.isExecuteResult\(\w\)/,
];

function matches(patterns: RegExp[], frame: ICallFrame, line: string): boolean {
  const text = line.slice(frame.columnNumber, frame.columnNumber + 200);
  return patterns.some((p) => p.test(text));
}

test("where opening 50 profiles of 1,000 lines spends its time", async ({
  page,
  tmpPath,
}) => {
  test.skip(
    !process.env.SCALENE_LAB_BENCH_PROFILE,
    "opt-in: SCALENE_LAB_BENCH_PROFILE=1",
  );
  const file = `${tmpPath}/profiles.ipynb`;
  const profiles = Array.from({ length: 50 }, (_, i) => profileOf(1000, i));
  await page.contents.uploadContent(
    notebook(profiles.map((p) => [profileOutput(p)])),
    "text",
    file,
  );
  const selector = ".jp-ScaleneProfile-summary";
  await measure(page, file, selector, profiles.length); // warm-up
  const raw = (page as any).page ?? page; // Galata's fixture wraps the page
  const cdp = await raw.context().newCDPSession(raw);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 1000 });
  await cdp.send("Profiler.start");
  const times = await measure(page, file, selector, profiles.length);
  const { profile } = await cdp.send("Profiler.stop");

  const nodes = new Map<number, IProfileNode>(
    profile.nodes.map((n: IProfileNode) => [n.id, n]),
  );
  const parents = new Map<number, number>();
  for (const node of profile.nodes as IProfileNode[]) {
    for (const child of node.children ?? []) {
      parents.set(child, node.id);
    }
  }
  // Each bundle is fetched and split into lines once; each profile node is
  // classed once (the same nodes recur in thousands of samples).
  const sources = new Map<string, string[]>();
  const kinds = new Map<number, "copy" | "passing" | "other">();
  const kindOf = async (id: number): Promise<"copy" | "passing" | "other"> => {
    if (!kinds.has(id)) {
      const frame = nodes.get(id)!.callFrame;
      if (!sources.has(frame.url)) {
        const text = frame.url.startsWith("http")
          ? await (await raw.request.get(frame.url)).text()
          : "";
        sources.set(frame.url, text.split("\n"));
      }
      const line = sources.get(frame.url)![frame.lineNumber] ?? "";
      kinds.set(
        id,
        matches(COPIES, frame, line)
          ? "copy"
          : matches(PASSING, frame, line)
            ? "passing"
            : "other",
      );
    }
    return kinds.get(id)!;
  };
  const self = new Map<string, number>();
  const chains = new Map<string, number>();
  let copying = 0;
  let total = 0;
  for (const [i, id] of (profile.samples as number[]).entries()) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const name = where(nodes.get(id)!.callFrame);
    total += ms;
    self.set(name, (self.get(name) ?? 0) + ms);
    if ((await kindOf(id)) !== "copy") {
      continue;
    }
    copying += ms;
    // The callers past the copy's own recursion and the code that only
    // passes the bundle on name who asked for the copy.
    const chain: string[] = [];
    for (
      let at = parents.get(id);
      at !== undefined && chain.length < 4;
      at = parents.get(at)
    ) {
      if ((await kindOf(at)) === "other") {
        chain.push(where(nodes.get(at)!.callFrame));
      }
    }
    const key = chain.join(" < ");
    chains.set(key, (chains.get(key) ?? 0) + ms);
  }
  const top = (map: Map<string, number>, count: number) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  console.log(
    [
      "",
      `Opened in ${times.open.toFixed(0)} ms under the profiler (drawn ${times.draw.toFixed(0)} ms after load; the renderer's validation ${times.validate.toFixed(0)} ms, views ${times.render.toFixed(0)} ms).`,
      `JupyterLab copying output JSON: ${copying.toFixed(0)} ms of ${total.toFixed(0)} ms sampled (${((100 * copying) / total).toFixed(0)}%), by caller:`,
      ...top(chains, 10).map(
        ([k, v]) => `  ${v.toFixed(0).padStart(6)} ms  ${k}`,
      ),
      "Self time by function:",
      ...top(self, 15).map(
        ([k, v]) => `  ${v.toFixed(0).padStart(6)} ms  ${k}`,
      ),
      "",
    ].join("\n"),
  );
});
