/**
 * The MIME renderer widget for `application/vnd.scalene.profile+json`.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { PROFILE_MIME_TYPE, parseProfile } from './profile';
import { CSS, renderError, renderProfile } from './view';

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
  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this._mimeType];
    this.node.textContent = '';
    try {
      this.node.appendChild(renderProfile(parseProfile(data), this.node.ownerDocument));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.node.appendChild(renderError(message, this.node.ownerDocument));
    }
    return Promise.resolve();
  }

  private _mimeType: string;
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
