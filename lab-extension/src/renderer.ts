/**
 * The MIME renderer widget for `application/vnd.scalene.profile+json`.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { PROFILE_MIME_TYPE, parseProfile } from './profile';
import { IChartSet, drawSparklines } from './sparkline';
import { CSS, pendingCharts, renderError, renderProfile } from './view';

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
    const data = model.data[this._mimeType];
    this._charts?.dispose();
    this._charts = null;
    this.node.textContent = '';
    let view: HTMLElement;
    try {
      view = renderProfile(parseProfile(data), this.node.ownerDocument);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.node.appendChild(renderError(message, this.node.ownerDocument));
      return;
    }
    this.node.appendChild(view);
    // The table is on screen at once; the charts follow once vega has
    // loaded, without holding up the output area.
    this.chartsDrawn = drawSparklines(pendingCharts(view)).then(charts => {
      if (this.isDisposed || !this.node.contains(view)) {
        charts.dispose();
      } else {
        this._charts = charts;
      }
    });
  }

  /**
   * Settles when the charts of the latest model are drawn.
   */
  chartsDrawn: Promise<void> = Promise.resolve();

  /**
   * Release the charts' vega views with the widget.
   */
  dispose(): void {
    this._charts?.dispose();
    this._charts = null;
    super.dispose();
  }

  private _mimeType: string;
  private _charts: IChartSet | null = null;
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
