/**
 * The AI proposals' calls to the Jupyter server extension (`scalene_lab_ai`),
 * through JupyterLab's own server connection, so they carry its
 * authentication and XSRF token and work on a remote hub. The provider
 * itself is called by the server, never by the browser.
 */
import { ServerConnection } from '@jupyterlab/services';

/** What the server says about one provider (never a key: only where one comes from). */
export interface IProviderStatus {
  name: string;
  label: string;
  /** `settings`, the environment variable that supplies the key, or null when unconfigured. */
  source: string | null;
  client_installed: boolean;
  default_model: string;
}

/** An error the panel shows as it is. */
export interface IAiError {
  type: 'error';
  kind: string;
  message: string;
  retry_after?: number;
}

/** The finished proposal. */
export interface IProposal {
  type: 'proposal';
  explanation: string;
  code: string;
  diff: string;
  provider: string;
  model: string;
}

/** One line of the streamed answer. */
export type AnswerLine = { type: 'delta'; text: string } | { type: 'status'; message: string } | IProposal | IAiError;

/** The `scalene-lab:ai` settings, as the server reads them. */
export type AiSettings = { [key: string]: unknown };

/**
 * POST to one of the extension's endpoints; the reply's JSON, or an
 * `IAiError` for a failure of the connection itself.
 */
export async function postJson(
  endpoint: 'status' | 'models',
  body: object,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<any> {
  let reply: Response;
  try {
    reply = await ServerConnection.makeRequest(Private.url(settings, endpoint), Private.init(body), settings);
  } catch (error) {
    return { error: Private.unreachable(error) };
  }
  if (!reply.ok) {
    return { error: Private.httpError(reply) };
  }
  return reply.json();
}

/**
 * Ask for a proposal; `onLine` receives each line of the answer as it
 * arrives (the last one is the proposal or an error). Aborting `signal`
 * stops the request (the server then stops the provider's).
 */
export async function propose(
  body: object,
  onLine: (line: AnswerLine) => void,
  signal?: AbortSignal,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<void> {
  let reply: Response;
  try {
    reply = await ServerConnection.makeRequest(
      Private.url(settings, 'propose'),
      { ...Private.init(body), signal },
      settings
    );
  } catch (error) {
    if (signal?.aborted) {
      return;
    }
    onLine(Private.unreachable(error));
    return;
  }
  if (!reply.ok || reply.body === null) {
    onLine(Private.httpError(reply));
    return;
  }
  const reader = reply.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (!signal?.aborted) {
        onLine(Private.unreachable(error));
      }
      return;
    }
    pending += decoder.decode(chunk.value ?? new Uint8Array(), { stream: !chunk.done });
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    // The receiver's own exceptions are its own: they propagate, not reported as the server's.
    for (const line of lines) {
      if (line.trim()) {
        onLine(JSON.parse(line) as AnswerLine);
      }
    }
    if (chunk.done) {
      return;
    }
  }
}

namespace Private {
  export function url(settings: ServerConnection.ISettings, endpoint: string): string {
    return `${settings.baseUrl.replace(/\/+$/, '')}/scalene-lab/ai/${endpoint}`;
  }

  export function init(body: object): RequestInit {
    return { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
  }

  export function unreachable(error: unknown): IAiError {
    const detail = error instanceof Error ? error.message : String(error);
    return { type: 'error', kind: 'unreachable', message: `The Jupyter server did not answer: ${detail}` };
  }

  export function httpError(reply: Response): IAiError {
    if (reply.status === 404) {
      return {
        type: 'error',
        kind: 'no_server_extension',
        message:
          'The Jupyter server has no scalene-lab AI endpoint: enable it with `jupyter server extension enable scalene_lab_ai` and restart the server'
      };
    }
    return {
      type: 'error',
      kind: 'server',
      message: `The Jupyter server refused the request (HTTP ${reply.status} ${reply.statusText})`
    };
  }
}
