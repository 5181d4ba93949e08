/**
 * The Optimize actions: a button on each line and function with samples,
 * the event it sends up the page with its target, and the request and
 * re-profiling code built from a real profile.
 */
import {
  IOptimizeDetail,
  OPTIMIZE_EVENT,
  describeTarget,
  functionTarget,
  optimizeRequest,
  reprofileCode
} from '../optimizeRequest';
import { parseProfile } from '../profile';
import { renderProfile } from '../view';
import { loadFixture } from './fixtures';

function captured(node: HTMLElement): IOptimizeDetail[] {
  const seen: IOptimizeDetail[] = [];
  node.addEventListener(OPTIMIZE_EVENT, event => seen.push((event as CustomEvent<IOptimizeDetail>).detail));
  return seen;
}

describe('Optimize buttons', () => {
  it('come on sampled lines only, named Optimize, and send the line as the target', () => {
    const profile = parseProfile(loadFixture('mixed'));
    const key = profile.notebook!.profiled_source;
    const node = renderProfile(profile);
    document.body.appendChild(node);
    const seen = captured(document.body);
    const section = node.querySelector(`section[data-source-key="${key}"]`)!;
    const buttonOf = (lineno: number) =>
      section.querySelector(`table[data-table="line"] tr[data-lineno="${lineno}"] button.jp-ScaleneProfile-optimize`);
    expect(buttonOf(3)).toBeNull(); // `total = 0` has no samples
    const loop = buttonOf(5) as HTMLButtonElement;
    expect(loop.textContent).toBe('Optimize');
    expect(loop.type).toBe('button');
    loop.click();
    expect(seen).toHaveLength(1);
    expect(seen[0].profile).toBe(profile);
    expect(seen[0].target).toEqual({ sourceKey: key, kind: 'line', first: 5, last: 5 });
    node.remove();
  });

  it('send a function with the span its lines give', () => {
    const profile = parseProfile(loadFixture('mixed'));
    const node = renderProfile(profile);
    document.body.appendChild(node);
    const seen = captured(document.body);
    const helper = node.querySelector(
      'section[data-source-key="[2]"] table[data-table="function"] button.jp-ScaleneProfile-optimize'
    )!;
    (helper as HTMLButtonElement).click();
    const lines = profile.files['[2]'].lines as any[];
    const end = Math.max(...lines.filter(l => l.start_function_line === 1).map(l => l.end_function_line));
    expect(seen[0].target).toEqual({ sourceKey: '[2]', kind: 'function', first: 1, last: end, name: 'busy' });
    expect(end).toBeGreaterThan(1);
    expect(describeTarget(seen[0].target)).toBe(`function busy (lines 1-${end})`);
    node.remove();
  });
});

describe('the request', () => {
  it('carries the code, the code it calls, the imports and the source profile', () => {
    const profile = parseProfile(loadFixture('mixed'));
    const key = profile.notebook!.profiled_source;
    const target = { sourceKey: key, kind: 'range' as const, first: 4, last: 5 };
    const body = optimizeRequest(profile, target, 'CELL', [{ key: '[2]', source: 'def busy(n): ...' }]) as any;
    expect(body.target).toEqual({ kind: 'range', first: 4, last: 5, name: '' });
    expect(body.cell).toEqual({ key, source: 'CELL' });
    expect(body.context).toEqual([{ key: '[2]', source: 'def busy(n): ...' }]);
    expect(body.imports).toEqual(profile.files[key].imports);
    expect(body.lines.map((l: any) => l.lineno)).toEqual(profile.files[key].lines.map(l => l.lineno));
    expect(body.profile).toEqual({ elapsed_time_sec: profile.elapsed_time_sec, memory: false, gpu: false });
    expect(describeTarget(target)).toBe('lines 4-5');
  });

  it('re-profiles with the run options unless the cell has its own %%scalene line', () => {
    const profile = parseProfile(loadFixture('mixed'));
    expect(reprofileCode('x = 1', profile)).toBe('%%scalene --cpu-only\nx = 1');
    expect(reprofileCode('%%scalene --memory\nx = 1', profile)).toBe('%%scalene --memory\nx = 1');
    const plain = parseProfile(loadFixture('mixed'));
    plain.notebook!.options = {};
    expect(reprofileCode('x = 1', plain)).toBe('%%scalene\nx = 1');
  });

  it('finds no function span in a source without line records', () => {
    const row = { lineno: 7, line: 'def f():\n' } as any;
    expect(functionTarget([], '[9]', row)).toEqual({
      sourceKey: '[9]',
      kind: 'function',
      first: 7,
      last: 7,
      name: 'def f():'
    });
  });
});
