/**
 * The MIME renderer widget for `application/vnd.scalene.profile+json`.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { outputData } from './outputData';
import { PROFILE_MIME_TYPE, checkedProfile } from './profile';
import { IChartSet, drawSparklines } from './sparkline';
import { CSS, chartsOf, renderError, renderProfile, viewDefaults } from './view';

/**
 * Renders a scalene-lab profile inline in an output area.
 */
export class ProfileRenderer extends Widget implements IRenderMime.IRenderer {
  /**
   * Create a renderer for one output.
   */
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass(`${CSS}-output`);
  }

  /**
   * Draw the model's profile, or a readable error if it is malformed.
   */
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = outputData(model)[this._mimeType];
    this._disposeCharts();
    this.node.textContent = '';
    // Timed as performance measures (the browser benchmark reads them).
    const started = performance.now();
    const profile = checkedProfile(data);
    const parsed = performance.now();
    if (typeof profile === 'string') {
      this.node.appendChild(renderError(profile, this.node.ownerDocument));
      return;
    }
    let view: HTMLElement;
    try {
      view = renderProfile(profile, this.node.ownerDocument, viewDefaults);
      Private.measure('scalene-lab:validate', started, parsed);
      Private.measure('scalene-lab:render', parsed, performance.now());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.node.appendChild(renderError(message, this.node.ownerDocument));
      return;
    }
    this.node.appendChild(view);
    // The table is on screen at once; the charts follow once vega has
    // loaded, without holding up the output area, and so do the charts of
    // rows a long table brings in later.
    const sets: IChartSet[] = [];
    this._charts = sets;
    chartsOf(view).attach(charts => {
      this.chartsDrawn = this.chartsDrawn
        .then(() => drawSparklines(charts))
        .then(set => (this._charts === sets ? sets.push(set) : set.dispose()));
    });
  }

  /**
   * Settles when the charts of the latest model are drawn.
   */
  chartsDrawn: Promise<unknown> = Promise.resolve();

  /**
   * Release the charts' vega views with the widget.
   */
  dispose(): void {
    this._disposeCharts();
    super.dispose();
  }

  private _disposeCharts(): void {
    this._charts.splice(0).forEach(set => set.dispose());
    this._charts = [];
  }

  private _mimeType: string;
  private _charts: IChartSet[] = [];
}

/**
 * The renderer factory: safe (it never injects markup), so profiles show
 * in untrusted notebooks too.
 */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [PROFILE_MIME_TYPE],
  defaultRank: 0,
  createRenderer: options => new ProfileRenderer(options)
};

namespace Private {
  /** A performance measure, where the browser has them (jsdom has not). */
  export function measure(name: string, start: number, end: number): void {
    try {
      performance.measure(name, { start, end });
    } catch {
      // no User Timing level 3: nothing to record
    }
  }
}
