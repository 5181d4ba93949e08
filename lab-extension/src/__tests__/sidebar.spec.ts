/**
 * The sidebar's and the heat's models, fed real profiles: what they list,
 * where a profile line sits in a cell, and two runs compared.
 */
import { profiledCode } from '../profiledCode';
import { renderComparison } from '../compareView';
import { heatLevel, notebookHeat } from '../heatModel';
import { PROFILE_MIME_TYPE, parseProfile } from '../profile';
import { ICellOutputs, cellLine, collectProfiles, compareRuns, topLine } from '../sidebarModel';
import { loadFixture } from './fixtures';

function cellOf(profile: any, cellId: string, executionCount: number | null, source?: string): ICellOutputs {
  const key = profile.notebook.profiled_source;
  return {
    cellId,
    executionCount,
    source: source ?? profile.files[key].lines.map((l: any) => l.line).join(''),
    outputs: [{ 'text/plain': 'x' }, { [PROFILE_MIME_TYPE]: profile }]
  };
}

function helperCell(profile: any): ICellOutputs {
  const key = Object.keys(profile.files).find(k => k !== profile.notebook.profiled_source)!;
  const info = profile.notebook.sources[key];
  return {
    cellId: info.cell_id ?? 'helper',
    executionCount: info.execution_count,
    source: profile.files[key].lines.map((l: any) => l.line).join(''),
    outputs: []
  };
}

describe('collectProfiles', () => {
  it('lists each profile in the outputs with its cell, time, top line and peak', () => {
    const mixed = loadFixture('mixed');
    const memory = loadFixture('memory');
    const entries = collectProfiles([
      cellOf(mixed, 'a', 3),
      { cellId: 'b', executionCount: 4, source: 'x = 1', outputs: [] },
      cellOf(memory, 'c', 7)
    ]);
    expect(entries.map(e => e.cellId)).toEqual(['a', 'c']);
    expect(entries[0].executionCount).toBe(mixed.notebook.sources[mixed.notebook.profiled_source].execution_count);
    expect(entries[0].elapsed).toBeCloseTo(mixed.elapsed_time_sec, 6);
    expect(entries[0].peakMb).toBeNull();
    expect(entries[1].peakMb).toBeCloseTo(memory.max_footprint_mb, 6);
    expect(entries[0].top!.text).toBe('time.sleep(0.4)'); // 44.7% system time, the most of any line
    expect(entries[0].started!.getTime()).toBeCloseTo(mixed.start_time_absolute * 1000, -1);
  });

  it('lists a profile that cannot be read with the reason', () => {
    const broken = loadFixture('mixed');
    delete broken.max_footprint_mb;
    const [entry] = collectProfiles([cellOf(broken, 'a', 1)]);
    expect(entry.profile).toBeNull();
    expect(entry.error).toContain('max_footprint_mb is missing');
  });

  it('finds the top line across sources', () => {
    const profile = parseProfile(loadFixture('scrun'));
    const top = topLine(profile)!;
    const all = Object.values(profile.files).flatMap(f => f.lines);
    const most = Math.max(...all.map(l => l.n_cpu_percent_python + l.n_cpu_percent_c + l.n_sys_percent));
    expect(top.percent).toBeCloseTo(most, 6);
  });
});

describe('cellLine', () => {
  it('places a profile line in the cell text, also when a magic line was added above it', () => {
    const source = 'a = 1\nfor i in range(3):\n    total += i';
    expect(cellLine(source, 3, '    total += i\n')).toBe(2);
    // Profiled by a command: the kernel saw a %%scalene line first.
    expect(cellLine(source, 4, '    total += i\n')).toBe(2);
    expect(cellLine(source, 2, 'gone = 2\n')).toBeNull();
  });
});

describe('compareRuns', () => {
  it('pairs unchanged lines, shows edited ones as removed and added, in seconds', () => {
    const before = loadFixture('mixed');
    const after = loadFixture('mixed');
    const key = after.notebook.profiled_source;
    const loop = after.files[key].lines.find((l: any) => l.line.includes('total += i'));
    loop.line = '    total += 2 * i\n';
    after.elapsed_time_sec = before.elapsed_time_sec / 2;
    const changes = compareRuns(parseProfile(before), parseProfile(after));
    const removed = changes.find(c => c.after === null)!;
    const added = changes.find(c => c.before === null)!;
    expect(removed.text).toBe('    total += i');
    expect(added.text).toBe('    total += 2 * i');
    const sleep = changes.find(c => c.text === 'time.sleep(0.4)')!;
    expect(sleep.before).toBe(sleep.after);
    expect(sleep.timeAfter).toBeCloseTo(sleep.timeBefore / 2, 9);
    const node = renderComparison(parseProfile(before), parseProfile(after), 'difference');
    expect(node.querySelector('.jp-ScaleneProfile-compareSummary')!.textContent).toContain('2.00x faster');
    expect(node.querySelector('.jp-ScaleneProfile-removed code')!.textContent).toBe('    total += i');
    expect(node.querySelector('.jp-ScaleneProfile-added code')!.textContent).toBe('    total += 2 * i');
    const side = renderComparison(parseProfile(before), parseProfile(after), 'side-by-side');
    expect(side.querySelectorAll('.jp-ScaleneProfile-compareSide .jp-ScaleneProfile-summary').length).toBe(2);
  });
});

describe('notebookHeat', () => {
  it('heats the profiled cell and the earlier cell whose function ran, at their lines', () => {
    const profile = loadFixture('scrun');
    const helper = helperCell(profile);
    const run = cellOf(profile, 'run', 6);
    const heat = notebookHeat([helper, run]);
    const helperKey = Object.keys(profile.files).find(k => k !== profile.notebook.profiled_source)!;
    const hottest = profile.files[helperKey].lines.reduce((a: any, b: any) =>
      a.n_cpu_percent_python + a.n_cpu_percent_c > b.n_cpu_percent_python + b.n_cpu_percent_c ? a : b
    );
    const marks = heat.get(helper.cellId)!.lines;
    const top = marks.find(m => m.line === hottest.lineno - 1)!;
    expect(top.level).toBe(5);
    expect(top.label).toContain(`Python ${hottest.n_cpu_percent_python.toFixed(1)}%`);
    expect(heat.get('run')).toBeDefined();
  });

  it('follows the cell text: a line the user deleted gets no heat', () => {
    const profile = loadFixture('mixed');
    const key = profile.notebook.profiled_source;
    const source = profile.files[key].lines
      .map((l: any) => l.line)
      .join('')
      .replace('    total += i\n', '');
    const heat = notebookHeat([cellOf(profile, 'a', 3, source)]).get('a')!.lines;
    const lines = source.split('\n');
    expect(heat.every(h => lines[h.line] !== undefined)).toBe(true);
    expect(heat.some(h => lines[h.line] === 'time.sleep(0.4)')).toBe(true);
    expect(heat.some(h => h.label.includes('CPU 29.'))).toBe(false);
  });

  it('levels heat against the hottest line', () => {
    expect(heatLevel(50, 50)).toBe(5);
    expect(heatLevel(1, 50)).toBe(1);
    expect(heatLevel(25, 50)).toBe(3);
  });
});

describe('profiledCode', () => {
  it('puts the cell under %%scalene with the mode and the default options', () => {
    expect(profiledCode('x = 1', false, '')).toBe('%%scalene --cpu-only\nx = 1');
    expect(profiledCode('x = 1', true, ' --stacks ')).toBe('%%scalene --memory --stacks\nx = 1');
    expect(profiledCode('%%scalene --cpu-only\nx = 1', true, '')).toBe('%%scalene --cpu-only\nx = 1');
  });
});
