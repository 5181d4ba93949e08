/**
 * An output's MIME bundle as the output model holds it, without a copy.
 *
 * JupyterLab's output model copies every entry of its bundle (JSON
 * stringify, then parse) on each read of `data`: for fifty profiles of
 * 1,000 lines that is seconds of a notebook's opening each time the view,
 * the sidebar and the heat look. `toJSON()` hands back the bundle the model
 * keeps. Callers only read it.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

/**
 * The MIME bundle of `model`: the output model's own, where it has one,
 * else `model.data`.
 */
export function outputData(model: IRenderMime.IMimeModel): IRenderMime.IMimeModel['data'] {
  const serialisable = model as IRenderMime.IMimeModel & { toJSON?: () => { data?: unknown } };
  if (typeof serialisable.toJSON === 'function') {
    const data = serialisable.toJSON().data;
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
      return data as IRenderMime.IMimeModel['data'];
    }
  }
  return model.data;
}
