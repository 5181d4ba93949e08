/**
 * The inline view as a user meets it: malformed profiles name the field at
 * fault, Scalene's own profiles render, the source order survives a save,
 * columns sort, and columns without data stay out.
 */
import { parseProfile } from '../profile';
import { drawSparklines } from '../sparkline';
import { pendingCharts, renderError, renderProfile } from '../view';
import { loadFixture, sortKeys } from './fixtures';

function view(profile: unknown): HTMLElement {
  try {
    return renderProfile(parseProfile(profile));
  } catch (error) {
    return renderError((error as Error).message);
  }
}

function message(profile: unknown): string {
  const node = view(profile);
  expect(node.classList).toContain('jp-ScaleneProfile-error');
  return node.textContent!;
}

describe('malformed profiles: one readable sentence naming the field', () => {
  const cell = (p: any) => p.files[p.notebook.profiled_source];
  const cases: [string, (p: any) => void, RegExp][] = [
    ['missing max_footprint_mb', p => delete p.max_footprint_mb, /^.*max_footprint_mb is missing/],
    [
      'string for a number',
      p => (cell(p).lines[1].n_cpu_percent_python = '12'),
      /files\["\[3\]"\]\.lines\[1\]\.n_cpu_percent_python should be a number, not "12"/
    ],
    [
      'negative share',
      p => (cell(p).lines[1].n_sys_percent = -3),
      /n_sys_percent is -3, below its least possible value 0/
    ],
    [
      'share above 100',
      p => (cell(p).lines[1].n_cpu_percent_c = 250),
      /n_cpu_percent_c is 250, above its greatest possible value 100/
    ],
    [
      'line shares adding past the run',
      p => Object.assign(cell(p).lines[1], { n_cpu_percent_python: 60, n_cpu_percent_c: 60, n_sys_percent: 0 }),
      /lines\[1\] has Python, native and system time adding up to 120\.0%/
    ],
    [
      'sources adding past the run',
      p => Object.values(p.files).forEach((f: any) => (f.percent_cpu_time = 80)),
      /percent_cpu_time add up to 160\.0%/
    ],
    [
      'absurd peak',
      p => (p.max_footprint_mb = 5e12),
      /max_footprint_mb is 5000000000000 MB, more memory than any machine has/
    ],
    ['lines not a list', p => (cell(p).lines = {}), /files\["\[3\]"\]\.lines should be a list/],
    [
      'unknown status',
      p => (p.notebook.status = 'exploded'),
      /notebook\.status is "exploded"; it should be one of "completed", "error", "interrupted"/
    ],
    [
      'newer format',
      p => (p.notebook.format_version = 7),
      /notebook\.format_version is 7, newer than the format this extension reads \(1\)/
    ],
    ['older or wrong format', p => (p.notebook.format_version = 0), /notebook\.format_version is 0; it should be 1/],
    [
      'profiled source nowhere',
      p => (p.notebook.profiled_source = '[99]'),
      /notebook\.profiled_source "\[99\]" is neither in files nor in notebook\.sources/
    ],
    [
      'line number zero',
      p => (cell(p).lines[0].lineno = 0),
      /lines\[0\]\.lineno is 0, below its least possible value 1/
    ]
  ];
  it.each(cases)('%s', (_name, spoil, expected) => {
    const profile = loadFixture('mixed');
    spoil(profile);
    const text = message(profile);
    expect(text).toMatch(expected);
    expect(text).not.toMatch(/undefined|Cannot read|TypeError/);
  });

  it('says what it got when the output is no profile at all', () => {
    expect(message('a string')).toContain('not a profile object');
    expect(message(null)).toContain('not a profile object');
    expect(message([1, 2])).toContain('not a profile object');
  });
});

describe("Scalene's own profiles (no notebook block)", () => {
  it('renders a profile written by Scalene 2.4 run from the command line', () => {
    const profile = loadFixture('scalene-cli');
    expect(profile.notebook).toBeUndefined();
    const node = view(profile);
    expect(node.classList).not.toContain('jp-ScaleneProfile-error');
    expect(node.querySelector('.jp-ScaleneProfile-summary')!.textContent).toContain('Scalene profile of');
    const sections = Array.from(node.querySelectorAll('section')).map(s => (s as HTMLElement).dataset.sourceKey);
    expect(sections[0]).toBe('/tmp/scwork.py');
    const loop = Array.from(node.querySelectorAll('section')[0].querySelectorAll('tbody tr')).find(tr =>
      tr.textContent!.includes('total += i * i % 7')
    )!;
    expect(loop).toBeDefined();
    const record = profile.files['/tmp/scwork.py'].lines.find((l: any) => l.line.includes('total += i'));
    expect(loop.querySelector('td[data-column="python"]')!.textContent).toBe(
      `${record.n_cpu_percent_python.toFixed(1)}%`
    );
    // Scalene found a likely leak; the header names it.
    expect(node.querySelector('.jp-ScaleneProfile-leaks')!.textContent).toContain('/tmp/scwork.py line 8');
  });
});

describe('source order', () => {
  it('keeps the profiled cell first after saving sorts the keys', () => {
    for (const name of ['mixed', 'scrun', 'memory']) {
      const profile = loadFixture(name);
      const expected = Object.keys(profile.files);
      expect(expected[0]).toBe(profile.notebook.profiled_source);
      const saved = sortKeys(profile);
      expect(Object.keys(saved.files)).not.toEqual(expected); // the save changed the key order
      const shown = Array.from(view(saved).querySelectorAll('section')).map(s => (s as HTMLElement).dataset.sourceKey);
      expect(shown).toEqual(expected);
    }
  });
});

describe('columns', () => {
  function headers(node: HTMLElement): string[] {
    return Array.from(node.querySelector('thead')!.querySelectorAll('th')).map(th => th.dataset.column!);
  }

  it('shows only the columns that have data in this profile', () => {
    const cpu = headers(view(loadFixture('mixed')));
    expect(cpu).toEqual(expect.arrayContaining(['lineno', 'time', 'python', 'native', 'system', 'core', 'source']));
    for (const absent of ['peak', 'malloc', 'churn', 'gpu', 'gpuMemory']) {
      expect(cpu).not.toContain(absent);
    }
    const profile = loadFixture('mixed');
    for (const file of Object.values(profile.files) as any[]) {
      for (const row of [...file.lines, ...file.functions]) {
        row.n_sys_percent = 0;
      }
    }
    expect(headers(view(profile))).not.toContain('system');
    expect(headers(view(loadFixture('memory')))).toEqual(
      expect.arrayContaining(['peak', 'average', 'malloc', 'churn'])
    );
  });

  it("describes each line's time split in an accessible label", () => {
    const profile = loadFixture('mixed');
    const key = profile.notebook.profiled_source;
    const record = profile.files[key].lines.find((l: any) => l.line.includes('total += i'));
    const row = view(profile).querySelector(`tr[data-lineno="${record.lineno}"]`)!;
    const label = row.querySelector('.jp-ScaleneProfile-bar')!.getAttribute('aria-label')!;
    expect(label).toContain(`Python ${record.n_cpu_percent_python.toFixed(1)}%`);
    expect(label).toContain(`Native ${record.n_cpu_percent_c.toFixed(1)}%`);
  });
});

describe('sorting', () => {
  function order(table: HTMLTableElement): number[] {
    return Array.from(table.tBodies[0].rows)
      .filter(tr => tr.dataset.lineno)
      .map(tr => Number(tr.dataset.lineno));
  }

  it('sorts by a column on a click, flips on the next, and the line column restores source order', () => {
    const profile = loadFixture('mixed');
    const key = profile.notebook.profiled_source;
    const node = view(profile);
    document.body.appendChild(node);
    const table = node.querySelector(`section[data-source-key="${key}"] table`) as HTMLTableElement;
    const original = order(table);
    const button = (column: string) => table.querySelector(`th[data-column="${column}"] button`) as HTMLButtonElement;
    const python = new Map<number, number>(
      profile.files[key].lines.map((l: any) => [l.lineno, l.n_cpu_percent_python])
    );

    button('python').click();
    const descending = order(table).map(n => python.get(n)!);
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    expect(table.querySelector('th[data-column="python"]')!.getAttribute('aria-sort')).toBe('descending');

    button('python').click();
    const ascending = order(table).map(n => python.get(n)!);
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    expect(table.querySelector('th[data-column="python"]')!.getAttribute('aria-sort')).toBe('ascending');

    button('lineno').click();
    expect(order(table)).toEqual(original);
    expect(table.querySelector('th[data-column="python"]')!.hasAttribute('aria-sort')).toBe(false);
    node.remove();
  });

  it('keeps runs of omitted lines in place in line order and last otherwise', () => {
    const profile = loadFixture('long');
    const key = profile.notebook.profiled_source;
    const node = view(profile);
    const table = node.querySelector(`section[data-source-key="${key}"] table`) as HTMLTableElement;
    (table.querySelector('th[data-column="time"] button') as HTMLButtonElement).click();
    const rows = Array.from(table.tBodies[0].rows);
    const firstGap = rows.findIndex(tr => tr.classList.contains('jp-ScaleneProfile-gap'));
    expect(rows.slice(firstGap).every(tr => tr.classList.contains('jp-ScaleneProfile-gap'))).toBe(true);
  });
});

describe('header', () => {
  it("shows the whole run's time split, and for memory the peak with its line", () => {
    const profile = loadFixture('memory');
    const node = view(profile);
    const bars = Array.from(node.querySelectorAll('.jp-ScaleneProfile-headerBar')).map(b => b.textContent!);
    expect(bars[0]).toMatch(/^Time/);
    expect(bars[1]).toMatch(/^Memory/);
    const facts = node.querySelector('.jp-ScaleneProfile-memoryFacts')!.textContent!;
    expect(facts).toContain(
      `Peak ${profile.max_footprint_mb.toFixed(1)} MB at In [7], line ${profile.max_footprint_lineno}`
    );
    expect(view(loadFixture('mixed')).querySelector('.jp-ScaleneProfile-memoryFacts')).toBeNull();
  });
});

describe('sparklines (vega, loaded on first use)', () => {
  it("draws the run's memory over time and each line's timeline as SVG marks, described for screen readers", async () => {
    const profile = loadFixture('memory');
    const node = renderProfile(parseProfile(profile));
    document.body.appendChild(node);
    const charts = pendingCharts(node);
    const rows = Object.values(profile.files).flatMap((f: any) => [...f.lines, ...f.functions]);
    const busy = rows.filter((l: any) => l.memory_samples.length >= 2);
    expect(busy.length).toBeGreaterThan(0);
    expect(charts.length).toBe(1 + busy.length); // the header's, then one per line or function with a timeline
    const set = await drawSparklines(charts);
    for (const chart of charts) {
      const paths = chart.host.querySelectorAll('svg path');
      expect(paths.length).toBeGreaterThanOrEqual(2); // the area and the line
      expect(paths[1].getAttribute('d')!.length).toBeGreaterThan(10);
      expect(chart.host.getAttribute('aria-label')).toMatch(/^Memory over time: .* peak [\d.]+ MB, \d+ samples$/);
    }
    const peak = Math.max(...profile.samples.map((p: number[]) => p[1]));
    expect(charts[0].host.getAttribute('aria-label')).toContain(`peak ${peak.toFixed(1)} MB`);
    set.dispose();
    node.remove();
  });

  it('adds no timeline column to a CPU-only profile and marks likely leaks', () => {
    const cpu = renderProfile(parseProfile(loadFixture('mixed')));
    expect(cpu.querySelector('th[data-column="timeline"]')).toBeNull();
    expect(pendingCharts(cpu)).toEqual([]);
    const scalene = loadFixture('scalene-cli');
    const node = renderProfile(parseProfile(scalene));
    const leak = node.querySelector('tr[data-lineno="8"] .jp-ScaleneProfile-leak')!;
    expect(leak.getAttribute('aria-label')).toMatch(/^Likely leak: likelihood 98%/);
    expect(node.querySelectorAll('.jp-ScaleneProfile-leak').length).toBe(1);
  });
});

describe('display modes', () => {
  function lineRows(node: HTMLElement, key: string): HTMLTableRowElement[] {
    return Array.from(node.querySelectorAll(`section[data-source-key="${key}"] table[data-table="line"] tbody tr`));
  }

  it('lists lines with samples, all lines, or functions', () => {
    const profile = loadFixture('mixed');
    const key = profile.notebook.profiled_source;
    const node = view(profile);
    const select = node.querySelector('select.jp-ScaleneProfile-mode') as HTMLSelectElement;
    expect(select.getAttribute('aria-label')).toBe('Show');
    expect(Array.from(select.options).map(o => o.value)).toEqual(['samples', 'all', 'functions']); // no stacks in this profile
    expect(select.value).toBe('all');
    expect(lineRows(node, key).length).toBe(profile.files[key].lines.length);

    select.value = 'samples';
    select.dispatchEvent(new Event('change'));
    const sampled = profile.files[key].lines.filter(
      (l: any) => l.n_cpu_percent_python + l.n_cpu_percent_c + l.n_sys_percent >= 0.05
    );
    expect(sampled.length).toBeLessThan(profile.files[key].lines.length);
    expect(lineRows(node, key).map(r => Number(r.dataset.lineno))).toEqual(sampled.map((l: any) => l.lineno));

    select.value = 'functions';
    select.dispatchEvent(new Event('change'));
    const helper = Object.keys(profile.files).find(k => k !== key)!;
    const lineBox = node
      .querySelector(`section[data-source-key="${helper}"] table[data-table="line"]`)!
      .closest('.jp-ScaleneProfile-tableBox') as HTMLElement;
    const functionBox = node
      .querySelector(`section[data-source-key="${helper}"] table[data-table="function"]`)!
      .closest('.jp-ScaleneProfile-tableBox') as HTMLElement;
    expect(lineBox.hidden).toBe(true);
    expect(functionBox.hidden).toBe(false);
    expect(functionBox.textContent).toContain('busy');
  });

  it('opens in the mode it is given', () => {
    const node = renderProfile(parseProfile(loadFixture('mixed')), document, { mode: 'samples' });
    expect(node.dataset.mode).toBe('samples');
    // Asking for stacks where there are none falls back to all lines.
    expect(renderProfile(parseProfile(loadFixture('mixed')), document, { mode: 'stacks' }).dataset.mode).toBe('all');
  });

  it('shows the sampled call stacks as a call tree named by cell', () => {
    const profile = loadFixture('stacks');
    const node = view(profile);
    const select = node.querySelector('select.jp-ScaleneProfile-mode') as HTMLSelectElement;
    expect(Array.from(select.options).map(o => o.value)).toContain('stacks');
    select.value = 'stacks';
    select.dispatchEvent(new Event('change'));
    expect((node.querySelector('.jp-ScaleneProfile-sources') as HTMLElement).hidden).toBe(true);
    const tree = node.querySelector('.jp-ScaleneProfile-callTree') as HTMLElement;
    expect(tree.hidden).toBe(false);
    const cell = profile.notebook.sources[profile.notebook.profiled_source].execution_count;
    const names = Array.from(tree.querySelectorAll('.jp-ScaleneProfile-frameName')).map(n => n.textContent);
    expect(names).toContain(`In [${cell}] outer:3`);
    // outer's total is the sum of the stacks that pass through it.
    const through = profile.stacks
      .filter((s: any) => s[0].some((f: string) => f.startsWith(`In [${cell}] outer:`)))
      .reduce((sum: number, s: any) => sum + 100 * s[1].cpu_samples, 0);
    const outer = Array.from(tree.querySelectorAll('.jp-ScaleneProfile-frame')).find(
      f => f.querySelector('.jp-ScaleneProfile-frameName')!.textContent === `In [${cell}] outer:3`
    )!;
    expect(outer.querySelector('.jp-ScaleneProfile-frameShare')!.textContent).toMatch(
      new RegExp(`^${through.toFixed(1)}%`)
    );
  });
});

describe('long sources (windowed)', () => {
  /** A real profile whose cell has `count` sampled lines (its loop line repeated). */
  function wide(count: number): any {
    const profile = loadFixture('mixed');
    const key = profile.notebook.profiled_source;
    const file = profile.files[key];
    const template = file.lines.find((l: any) => l.line.includes('total += i'));
    // One heavy line (two thirds of the way down), the rest light.
    file.lines = Array.from({ length: count }, (_, i) => ({
      ...template,
      lineno: i + 1,
      line: `x${i} = ${i}  # line ${i + 1}\n`,
      n_cpu_percent_python: i + 1 === Math.round((2 * count) / 3) ? 40 : 40 / count,
      n_cpu_percent_c: 0,
      n_sys_percent: 0
    }));
    file.functions = [];
    return profile;
  }

  it('keeps only the rows around the scroll window in the page, and all of them on "show all"', () => {
    const profile = wide(5000);
    const key = profile.notebook.profiled_source;
    const node = view(profile);
    const table = node.querySelector(`section[data-source-key="${key}"] table`) as HTMLTableElement;
    const listed = () => Array.from(table.tBodies[0].rows).filter(r => r.dataset.lineno);
    expect(listed().length).toBeLessThanOrEqual(100);
    expect(listed()[0].dataset.lineno).toBe('1');
    // The spacer below stands for the rest, so the scroll bar is true.
    const spacer = table.tBodies[0].rows[table.tBodies[0].rows.length - 1];
    expect(spacer.classList).toContain('jp-ScaleneProfile-spacer');
    expect(parseInt((spacer.cells[0] as HTMLElement).style.height, 10)).toBe((5000 - listed().length) * 20);

    // Sorting sorts all 5,000, not the window.
    (table.querySelector('th[data-column="python"] button') as HTMLButtonElement).click();
    expect(listed()[0].dataset.lineno).toBe(String(Math.round((2 * 5000) / 3)));
    expect(listed()[0].querySelector('td[data-column="python"]')!.textContent).toBe('40.0%');

    const more = node.querySelector('.jp-ScaleneProfile-showAll') as HTMLButtonElement;
    expect(more.hidden).toBe(false);
    expect(more.textContent).toBe('Show all 5,000 rows');
    more.click();
    expect(listed().length).toBe(5000);
    expect(more.hidden).toBe(true);
  });

  it('brings rows into the page as the table scrolls', () => {
    const profile = wide(3000);
    const key = profile.notebook.profiled_source;
    const node = view(profile);
    document.body.appendChild(node);
    const box = node.querySelector(`section[data-source-key="${key}"] .jp-ScaleneProfile-scroller`) as HTMLElement;
    box.scrollTop = 20 * 2000;
    box.dispatchEvent(new Event('scroll'));
    return new Promise<void>(resolve =>
      requestAnimationFrame(() => {
        const shown = Array.from(box.querySelectorAll('tbody tr'))
          .map(r => Number((r as HTMLElement).dataset.lineno))
          .filter(Boolean);
        expect(shown).toContain(2001);
        expect(shown.length).toBeLessThanOrEqual(100);
        node.remove();
        resolve();
      })
    );
  });

  it('leaves short sources whole', () => {
    const profile = wide(150);
    const node = view(profile);
    const key = profile.notebook.profiled_source;
    expect(node.querySelectorAll(`section[data-source-key="${key}"] table[data-table="line"] tbody tr`).length).toBe(
      150
    );
    expect((node.querySelector('.jp-ScaleneProfile-showAll') as HTMLElement).hidden).toBe(true);
  });
});

describe('long tables off screen', () => {
  it('build their rows when they first come near the screen', () => {
    const observers: { callback: IntersectionObserverCallback; targets: Element[] }[] = [];
    (window as any).IntersectionObserver = class {
      constructor(callback: IntersectionObserverCallback) {
        observers.push({ callback, targets: [] });
      }
      observe(target: Element) {
        observers[observers.length - 1].targets.push(target);
      }
      disconnect() {
        /* nothing held */
      }
    };
    try {
      const profile = loadFixture('mixed');
      const key = profile.notebook.profiled_source;
      const template = profile.files[key].lines[1];
      profile.files[key].lines = Array.from({ length: 1000 }, (_, i) => ({
        ...template,
        lineno: i + 1,
        line: `v${i} = ${i}\n`,
        n_cpu_percent_python: 0.05,
        n_cpu_percent_c: 0,
        n_sys_percent: 0
      }));
      const node = renderProfile(parseProfile(profile));
      const table = node.querySelector(`section[data-source-key="${key}"] table`) as HTMLTableElement;
      const listed = () => Array.from(table.tBodies[0].rows).filter(r => r.dataset.lineno).length;
      expect(listed()).toBe(0);
      expect(parseInt((table.tBodies[0].rows[0].cells[0] as HTMLElement).style.height, 10)).toBe(1000 * 20);
      const watcher = observers.find(o => o.targets.some(t => t.contains(table)))!;
      watcher.callback([{ isIntersecting: true } as IntersectionObserverEntry], {} as IntersectionObserver);
      expect(listed()).toBeGreaterThan(20);
      expect(listed()).toBeLessThanOrEqual(40);
    } finally {
      delete (window as any).IntersectionObserver;
    }
  });
});

describe('GPU', () => {
  it('shows GPU utilisation and memory in the header and columns when a GPU was profiled', () => {
    const profile = loadFixture('mixed');
    const key = profile.notebook.profiled_source;
    profile.gpu = true;
    profile.gpu_device = 'GPU';
    Object.assign(profile.files[key].lines[5], { n_gpu_percent: 62.5, n_gpu_peak_memory_mb: 812.4 });
    const node = view(profile);
    expect(node.querySelector('.jp-ScaleneProfile-gpuFacts')!.textContent).toBe(
      'GPU: up to 62.5% utilisation on a line, peak GPU memory 812.4 MB'
    );
    const row = node.querySelector(
      `section[data-source-key="${key}"] tr[data-lineno="${profile.files[key].lines[5].lineno}"]`
    )!;
    expect(row.querySelector('td[data-column="gpu"]')!.textContent).toBe('62.5%');
    expect(row.querySelector('td[data-column="gpuMemory"]')!.textContent).toBe('812.4');
    expect(view(loadFixture('mixed')).querySelector('.jp-ScaleneProfile-gpuFacts')).toBeNull();
  });

  it('names the devices and draws the columns of a profile read from NVML', () => {
    // Saved from a kernel on the tests' fake NVML: 85% busy with 2 GiB, then 10% with 512 MiB.
    const profile = loadFixture('gpu');
    const key = profile.notebook.profiled_source;
    const node = view(profile);
    const facts = node.querySelector('.jp-ScaleneProfile-gpuFacts')!.textContent!;
    expect(facts).toMatch(/^GPU \(NVIDIA Fake GPU\): up to 8\d\.\d% utilisation on a line, peak GPU memory 2048\.0 MB/);
    expect(facts).toContain("utilisation is the device's, not this kernel's alone");
    const headers = Array.from(node.querySelectorAll(`section[data-source-key="${key}"] thead th`)).map(
      th => th.textContent
    );
    expect(headers).toEqual(expect.arrayContaining(['GPU %', 'GPU MB']));
    const cell = (lineno: number, column: string) =>
      node.querySelector(`section[data-source-key="${key}"] tr[data-lineno="${lineno}"] td[data-column="${column}"]`)!
        .textContent;
    expect(parseFloat(cell(4, 'gpu')!)).toBeGreaterThan(75);
    expect(cell(4, 'gpuMemory')).toBe('2048.0');
    expect(parseFloat(cell(7, 'gpu')!)).toBeLessThan(20);
  });

  it('adds what PyTorch allocated and reserved when it was in use', () => {
    const profile = loadFixture('gpu');
    const key = profile.notebook.profiled_source;
    profile.notebook.gpu.torch = true;
    profile.notebook.gpu.per_process_utilization = true;
    Object.assign(profile.files[key].lines[3], { n_gpu_torch_allocated_mb: 1500, n_gpu_torch_reserved_mb: 1984 });
    const facts = view(profile).querySelector('.jp-ScaleneProfile-gpuFacts')!.textContent!;
    expect(facts).toContain('PyTorch allocated up to 1500.0 MB of 1984.0 MB reserved');
    expect(facts).not.toContain("device's");
  });
});
