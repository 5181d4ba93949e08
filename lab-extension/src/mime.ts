/**
 * The MIME extension entry point (`jupyterlab.mimeExtension`): registers the
 * profile renderer with JupyterLab and Notebook 7.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { PROFILE_MIME_TYPE } from './profile';
import { rendererFactory } from './renderer';

/**
 * The renderer plugin `scalene-lab:renderer`.
 */
const extension: IRenderMime.IExtension = {
  id: 'scalene-lab:renderer',
  description: 'Renders scalene-lab profiles inline in notebook outputs.',
  rendererFactory,
  rank: 0,
  dataType: 'json',
  fileTypes: [
    {
      name: 'scalene-profile',
      mimeTypes: [PROFILE_MIME_TYPE],
      extensions: ['.scalene.json']
    }
  ],
  documentWidgetFactoryOptions: {
    name: 'Scalene Profile',
    primaryFileType: 'scalene-profile',
    fileTypes: ['scalene-profile'],
    defaultFor: ['scalene-profile']
  }
};

export default extension;
