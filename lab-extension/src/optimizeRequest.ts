/**
 * What an "Optimize" action asks for: the target (a line, a function, or a
 * range of lines of one profiled source) and the request the server turns
 * into the prompt. No JupyterLab imports: tested on its own.
 *
 * The profile view and the sidebar cannot reach the notebook, so an Optimize
 * button sends a DOM event up the page; the AI plugin (`ai.ts`) catches it
 * where the notebook is known.
 */
import { ILineProfile, IScaleneProfile } from './profile';

/** The DOM event an Optimize button dispatches (it bubbles). */
export const OPTIMIZE_EVENT = 'scalene-lab-optimize';

/** What to optimize. */
export interface IOptimizeTarget {
  /** The profile's key of the source (`[3]` for a cell, a path for a file). */
  sourceKey: string;
  kind: 'line' | 'function' | 'range';
  first: number;
  last: number;
  /** The function's name, for a function. */
  name?: string;
}

/** The event's detail: the profile the action came from and its target. */
export interface IOptimizeDetail {
  profile: IScaleneProfile;
  target: IOptimizeTarget;
}

/**
 * Ask the page to optimize `target` of `profile` (from the button `node`).
 */
export function requestOptimize(node: HTMLElement, profile: IScaleneProfile, target: IOptimizeTarget): void {
  node.dispatchEvent(
    new CustomEvent<IOptimizeDetail>(OPTIMIZE_EVENT, { bubbles: true, composed: true, detail: { profile, target } })
  );
}

/**
 * The target for a function row of the source `sourceKey` whose line
 * records are `lines`: its first line, and its last as those records give
 * it (the function line alone if they do not).
 */
export function functionTarget(lines: ILineProfile[], sourceKey: string, row: ILineProfile): IOptimizeTarget {
  const inside = lines.find(line => (line as any).start_function_line === row.lineno);
  const last = Number((inside as any)?.end_function_line) || row.lineno;
  return { sourceKey, kind: 'function', first: row.lineno, last: Math.max(row.lineno, last), name: row.line.trim() };
}

/**
 * The target in words, as the panel's title says it.
 */
export function describeTarget(target: IOptimizeTarget): string {
  if (target.kind === 'function') {
    return `function ${target.name || `at line ${target.first}`} (lines ${target.first}-${target.last})`;
  }
  return target.first === target.last ? `line ${target.first}` : `lines ${target.first}-${target.last}`;
}

/** Code of another source the target's code calls. */
export interface IContextSource {
  key: string;
  source: string;
}

/**
 * The request body's `request`: the target, the code, the code it calls,
 * the imports and the profile of the source's lines.
 */
export function optimizeRequest(
  profile: IScaleneProfile,
  target: IOptimizeTarget,
  source: string,
  context: IContextSource[]
): object {
  const file = profile.files[target.sourceKey];
  return {
    target: { kind: target.kind, first: target.first, last: target.last, name: target.name ?? '' },
    cell: { key: target.sourceKey, source },
    context,
    imports: file?.imports ?? [],
    lines: file?.lines ?? [],
    profile: { elapsed_time_sec: profile.elapsed_time_sec, memory: profile.memory, gpu: profile.gpu }
  };
}

/**
 * The `%%scalene` line that re-profiles a cell as the profile's run was
 * profiled (a cell that has its own `%%scalene` line keeps it).
 */
export function reprofileCode(source: string, profile: IScaleneProfile): string {
  if (/^\s*%%scalene\b/.test(source)) {
    return source;
  }
  const argv = profile.notebook?.options?.argv;
  const options = Array.isArray(argv) ? argv.filter(a => typeof a === 'string').join(' ') : '';
  return `${['%%scalene', options].filter(Boolean).join(' ')}\n${source}`;
}
