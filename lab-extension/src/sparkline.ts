/**
 * Memory-over-time sparklines drawn with vega, loaded on first use so that
 * JupyterLab's start-up and profiles without memory never pay for it.
 *
 * The marks are drawn in `currentColor`: the host's CSS (a theme variable)
 * gives the colour, so a theme switch recolours them without a redraw.
 */

/** A chart waiting to be drawn: its host element and its [time, MB] points. */
export interface ISparkline {
  host: HTMLElement;
  points: number[][];
  width: number;
  height: number;
}

/** A drawn set of charts; `dispose` releases their vega views. */
export interface IChartSet {
  dispose(): void;
}

/**
 * The accessible description of a memory timeline: where it starts, ends
 * and peaks.
 */
export function describeTimeline(points: number[][]): string {
  const sizes = points.map(point => point[1]);
  const peak = Math.max(...sizes);
  return `Memory over time: ${sizes[0].toFixed(1)} MB to ${sizes[sizes.length - 1].toFixed(1)} MB, peak ${peak.toFixed(1)} MB, ${points.length} samples`;
}

/**
 * The vega specification of one sparkline: an area under a line, no axes.
 */
export function sparklineSpec(points: number[][], width: number, height: number): object {
  const x = { scale: 'x', field: 't' };
  const y = { scale: 'y', field: 'mb' };
  return {
    width,
    height,
    padding: 1,
    autosize: 'none',
    data: [{ name: 'points', values: points.map(([t, mb]) => ({ t, mb })) }],
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'points', field: 't' }, range: 'width', zero: false },
      { name: 'y', type: 'linear', domain: { data: 'points', field: 'mb' }, range: 'height', zero: true, nice: false }
    ],
    marks: [
      {
        type: 'area',
        from: { data: 'points' },
        encode: {
          enter: { x, y, y2: { scale: 'y', value: 0 }, fill: { value: 'currentColor' }, fillOpacity: { value: 0.25 } }
        }
      },
      {
        type: 'line',
        from: { data: 'points' },
        encode: { enter: { x, y, stroke: { value: 'currentColor' }, strokeWidth: { value: 1 } } }
      }
    ]
  };
}

/**
 * Draw `charts` (vega is imported here, on the first call). Charts with
 * fewer than two points are left empty. A failure to load or draw leaves a
 * short text in the host instead of a chart.
 */
export async function drawSparklines(charts: readonly ISparkline[]): Promise<IChartSet> {
  const drawable = charts.filter(chart => chart.points.length >= 2);
  const views: { finalize(): void }[] = [];
  const set: IChartSet = { dispose: () => views.splice(0).forEach(view => view.finalize()) };
  if (drawable.length === 0) {
    return set;
  }
  let vega: typeof import('vega');
  try {
    vega = await import('vega');
  } catch {
    for (const chart of drawable) {
      chart.host.textContent = 'chart unavailable';
    }
    return set;
  }
  for (const chart of drawable) {
    try {
      // Vega labels its container itself ("Vega visualization"): it draws
      // into a child, and the host keeps its own description.
      const container = chart.host.ownerDocument.createElement('span');
      container.setAttribute('aria-hidden', 'true');
      chart.host.appendChild(container);
      const view = new vega.View(vega.parse(sparklineSpec(chart.points, chart.width, chart.height) as any), {
        renderer: 'svg',
        container,
        hover: false
      });
      views.push(view);
      await view.runAsync();
    } catch {
      chart.host.textContent = 'chart unavailable';
    }
  }
  return set;
}

/**
 * The charts of one view: those made before anyone draws wait here; once a
 * drawer is attached, it gets them and every chart made later (rows a long
 * table brings into its window, a sort, a mode change).
 */
export class ChartQueue {
  /**
   * Queue `charts`, or hand them straight to the drawer.
   */
  add(charts: ISparkline[]): void {
    if (this._drawer) {
      this._drawer(charts);
    } else {
      this._pending.push(...charts);
    }
  }

  /**
   * Give every waiting chart, and every later one, to `drawer`.
   */
  attach(drawer: (charts: ISparkline[]) => void): void {
    this._drawer = drawer;
    const waiting = this._pending.splice(0);
    if (waiting.length > 0) {
      drawer(waiting);
    }
  }

  /** The charts still waiting for a drawer. */
  get pending(): readonly ISparkline[] {
    return this._pending;
  }

  private _pending: ISparkline[] = [];
  private _drawer: ((charts: ISparkline[]) => void) | null = null;
}

/**
 * A host element for a sparkline of `points`, described for screen readers,
 * and the chart to draw in it (null, and an empty host, below two points).
 */
export function sparklineHost(
  doc: Document,
  className: string,
  points: number[][],
  width: number,
  height: number
): { host: HTMLElement; chart: ISparkline | null } {
  const host = doc.createElement('span');
  host.className = className;
  if (points.length < 2) {
    return { host, chart: null };
  }
  host.setAttribute('role', 'img');
  host.setAttribute('aria-label', describeTimeline(points));
  host.title = describeTimeline(points);
  return { host, chart: { host, points, width, height } };
}
