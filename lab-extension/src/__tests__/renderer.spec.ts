/**
 * The MIME renderer, fed real profiles: what a user sees in the output area.
 */
import { Widget } from '@lumino/widgets';

// The model module alone: the package's index pulls in JupyterLab's whole UI.
import { OutputModel } from '@jupyterlab/rendermime/lib/outputmodel';

import { outputData } from '../outputData';
import { PROFILE_MIME_TYPE, checkedProfile } from '../profile';
import { ProfileRenderer, rendererFactory } from '../renderer';
import { loadFixture } from './fixtures';

function render(data: unknown): HTMLElement {
  const renderer = new ProfileRenderer({
    mimeType: PROFILE_MIME_TYPE,
    sanitizer: { sanitize: (s: string) => s },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null
  } as any);
  Widget.attach(renderer, document.body);
  void renderer.renderModel({
    data: { [PROFILE_MIME_TYPE]: data as any },
    metadata: {},
    trusted: false,
    setData: () => undefined
  } as any);
  return renderer.node;
}

function rows(node: HTMLElement, sourceKey: string): HTMLTableRowElement[] {
  const section = node.querySelector(`section[data-source-key="${sourceKey}"]`);
  expect(section).not.toBeNull();
  return Array.from(section!.querySelectorAll('table')[0].querySelectorAll('tbody tr'));
}

function percentOf(row: HTMLTableRowElement, column: number): number {
  return parseFloat(row.cells[column].textContent || '0') || 0;
}

afterEach(() => {
  document.body.textContent = '';
});

describe('ProfileRenderer', () => {
  it('is a safe renderer for the profile MIME type, preferred over HTML', () => {
    expect(rendererFactory.safe).toBe(true);
    expect(rendererFactory.mimeTypes).toEqual([PROFILE_MIME_TYPE]);
    expect(rendererFactory.defaultRank).toBeLessThan(50);
  });

  it('shows every line of the profiled cell with its source text', () => {
    const profile = loadFixture('mixed');
    const node = render(profile);
    const key = profile.notebook.profiled_source;
    const lines = rows(node, key);
    const expected = profile.files[key].lines.map((l: any) => l.line.replace(/\n$/, ''));
    expect(lines.map(r => r.querySelector('code')!.textContent)).toEqual(expected);
    expect(lines[0].querySelector('code')!.textContent).toBe('%%scalene --cpu-only');
    expect(node.querySelector('.jp-ScaleneProfile-summary')!.textContent).toContain('%%scalene');
  });

  it('puts the largest Python, native and system shares on the right lines', () => {
    const profile = loadFixture('mixed');
    const lines = rows(render(profile), profile.notebook.profiled_source);
    const byText = (text: string) => lines.find(r => r.querySelector('code')!.textContent!.includes(text))!;
    const argmax = (column: number) =>
      lines.reduce((best, row) => (percentOf(row, column) > percentOf(best, column) ? row : best));
    expect(argmax(2)).toBe(byText('total += i'));
    expect(argmax(3)).toBe(byText('np.dot'));
    expect(argmax(4)).toBe(byText('time.sleep'));
  });

  it('draws a stacked bar whose segments match the line shares', () => {
    const profile = loadFixture('mixed');
    const key = profile.notebook.profiled_source;
    const line = profile.files[key].lines.find((l: any) => l.line.includes('total += i'));
    const row = rows(render(profile), key).find(r => r.dataset.lineno === String(line.lineno))!;
    const python = row.querySelector('.jp-ScaleneProfile-bar .jp-ScaleneProfile-python') as HTMLElement;
    expect(parseFloat(python.style.width)).toBeCloseTo(line.n_cpu_percent_python, 5);
  });

  it('lists earlier cells whose functions ran, named by execution count', () => {
    const profile = loadFixture('scrun');
    const node = render(profile);
    const helperKey = Object.keys(profile.notebook.sources).find(k => !profile.notebook.sources[k].profiled)!;
    const info = profile.notebook.sources[helperKey];
    expect(info.kind).toBe('cell');
    const title = node.querySelector(`section[data-source-key="${helperKey}"] .jp-ScaleneProfile-sourceName`)!;
    expect(title.textContent).toBe(`In [${info.execution_count}]`);
    const functions = node.querySelectorAll(`section[data-source-key="${helperKey}"] table`)[1];
    expect(functions.textContent).toContain('busy');
  });

  it('says when the run stopped with an error', () => {
    const node = render(loadFixture('error'));
    const status = node.querySelector('.jp-ScaleneProfile-status-error')!;
    expect(status.textContent).toContain('ValueError');
  });

  it('shows markup from the profile as text, never as elements', () => {
    const node = render(loadFixture('markup'));
    expect(node.querySelector('img')).toBeNull();
    expect(node.querySelector('script')).toBeNull();
    expect(node.textContent).toContain('<img src=x onerror=alert(1)>');
  });

  it('shows a readable error instead of a blank output for a malformed profile', () => {
    const profile = loadFixture('mixed');
    delete profile.files[profile.notebook.profiled_source].lines[1].n_sys_percent;
    const node = render(profile);
    const error = node.querySelector('.jp-ScaleneProfile-error')!;
    expect(error.textContent).toContain('n_sys_percent');
    expect(render('not a profile').querySelector('.jp-ScaleneProfile-error')!.textContent).toContain(
      'not a profile object'
    );
  });
});

describe('memory columns', () => {
  it('shows peak, allocation, churn and copy columns with the line values', () => {
    const profile = loadFixture('memory');
    const node = render(profile);
    const key = profile.notebook.profiled_source;
    const header = Array.from(
      node.querySelector(`section[data-source-key="${key}"] thead`)!.querySelectorAll('th')
    ).map(th => th.textContent);
    expect(header).toEqual(
      expect.arrayContaining(['Line', 'Time', 'Python', 'Peak MB', 'Avg MB', 'Alloc MB', 'Churn MB', 'Source'])
    );
    // Churn sits right beside the allocation it qualifies.
    expect(header.indexOf('Churn MB')).toBe(header.indexOf('Alloc MB') + 1);
    const record = profile.files[key].lines.find((l: any) => l.line.includes('np.ones'));
    const row = rows(node, key).find(r => r.dataset.lineno === String(record.lineno))!;
    const at = (column: string) => row.querySelector(`td[data-column="${column}"]`)!.textContent;
    expect(at('peak')).toBe(record.n_peak_mb.toFixed(1));
    expect(at('malloc')).toBe(record.n_malloc_mb.toFixed(1));
    expect(record.n_churn_mb).toBeGreaterThanOrEqual(record.n_malloc_mb);
    expect(at('churn')).toBe(record.n_churn_mb.toFixed(1));
    expect(node.querySelector('.jp-ScaleneProfile-summary')!.textContent).toContain('hot-attach');
  });

  it('leaves the memory columns out of CPU-only profiles', () => {
    const node = render(loadFixture('mixed'));
    expect(node.querySelector('thead')!.textContent).not.toContain('Peak MB');
  });
});

describe('long cells (bounded output)', () => {
  function tableRows(node: HTMLElement, key: string): HTMLTableRowElement[] {
    const section = node.querySelector(`section[data-source-key="${key}"]`)!;
    return Array.from(section.querySelectorAll('table')[0].querySelectorAll('tbody tr'));
  }

  it('lists the recorded lines and one summary row per run of lines left out, in line order', () => {
    const profile = loadFixture('long');
    const key = profile.notebook.profiled_source;
    const file = profile.files[key];
    const node = render(profile);
    const all = tableRows(node, key);
    const gaps = all.filter(r => r.classList.contains('jp-ScaleneProfile-gap'));
    expect(gaps.length).toBe(file.omitted_lines.length);
    expect(all.length).toBe(file.lines.length + file.omitted_lines.length);
    // Rows follow the source: every row starts after the previous one ends.
    let previous = 0;
    for (const row of all) {
      const first = Number(row.dataset.first ?? row.dataset.lineno);
      const last = Number(row.dataset.last ?? row.dataset.lineno);
      expect(first).toBe(previous + 1);
      previous = last;
    }
    for (const [i, run] of file.omitted_lines.entries()) {
      const count = run.last - run.first + 1;
      expect(gaps[i].textContent).toContain(`${count.toLocaleString('en-US')} lines without samples`);
    }
    const listed = node.querySelector('.jp-ScaleneProfile-coverage')!.textContent;
    expect(listed).toBe(`${file.lines.length} of ${previous.toLocaleString('en-US')} lines listed`);
  });

  it('keeps the loop lines with their source text and shares', () => {
    const profile = loadFixture('long');
    const key = profile.notebook.profiled_source;
    const rows = tableRows(render(profile), key).filter(r => r.dataset.lineno);
    const body = profile.files[key].lines.find((l: any) => l.line.includes('total += i'));
    const row = rows.find(r => r.dataset.lineno === String(body.lineno))!;
    expect(row.querySelector('code')!.textContent).toBe('    total += i');
    expect(Math.abs(percentOf(row, 2) - body.n_cpu_percent_python)).toBeLessThanOrEqual(0.051);
  });

  it('shows the holes in a profile that lists only some lines and has no omitted_lines (Scalene --reduced-profile)', () => {
    const profile = loadFixture('long');
    const key = profile.notebook.profiled_source;
    const file = profile.files[key];
    delete file.omitted_lines;
    const dropped = file.lines.splice(3, 1)[0];
    const gaps = tableRows(render(profile), key).filter(r => r.classList.contains('jp-ScaleneProfile-gap'));
    expect(gaps.length).toBe(1);
    expect(gaps[0].dataset.first).toBe(String(dropped.lineno));
    expect(gaps[0].textContent).toContain(`line ${dropped.lineno.toLocaleString('en-US')}: 1 line without samples`);
  });
});

describe('reading profiles from real output models', () => {
  it('reads the bundle the output model holds, once checked however often it is read', () => {
    const profile = loadFixture('mixed');
    const model = new OutputModel({
      value: { output_type: 'display_data', data: { [PROFILE_MIME_TYPE]: profile }, metadata: {} },
      trusted: false
    });
    // JupyterLab's `data` getter is a fresh deep copy on every read.
    expect(model.data[PROFILE_MIME_TYPE]).not.toBe(model.data[PROFILE_MIME_TYPE]);
    const held = outputData(model)[PROFILE_MIME_TYPE];
    expect(held).toBe(outputData(model)[PROFILE_MIME_TYPE]);
    expect(held).toEqual(profile);
    const checked = checkedProfile(held);
    expect(typeof checked).toBe('object');
    expect(checkedProfile(outputData(model)[PROFILE_MIME_TYPE])).toBe(checked);
    // A plain MIME model (no toJSON) is read through `data`.
    expect(outputData({ data: { a: 1 }, metadata: {}, trusted: false, setData: () => undefined } as any)).toEqual({
      a: 1
    });
  });

  it('renders a profile from an output model, and the reason when it is malformed', async () => {
    const renderer = new ProfileRenderer({ mimeType: PROFILE_MIME_TYPE } as any);
    Widget.attach(renderer, document.body);
    const model = (data: unknown) =>
      new OutputModel({
        value: { output_type: 'display_data', data: { [PROFILE_MIME_TYPE]: data as any }, metadata: {} }
      });
    await renderer.renderModel(model(loadFixture('mixed')));
    expect(renderer.node.querySelectorAll('table tbody tr').length).toBeGreaterThan(3);
    const broken = loadFixture('mixed');
    delete broken.max_footprint_mb;
    await renderer.renderModel(model(broken));
    expect(renderer.node.textContent).toContain('max_footprint_mb is missing');
    expect(renderer.node.querySelector('table')).toBeNull();
  });
});
