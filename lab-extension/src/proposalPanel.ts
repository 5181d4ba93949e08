/**
 * The proposal panel: one "Optimize" request, its answer streamed as it
 * arrives, then the explanation and the diff against the code, with Copy,
 * Apply to cell and Apply and re-profile (which shows the two runs
 * compared). Errors are answers here: each says what to do.
 */
import { Widget } from '@lumino/widgets';

import { AiSettings, AnswerLine, IAiError, IProposal, IProviderStatus, postJson, propose } from './aiClient';
import { renderComparison } from './compareView';
import { el, text } from './dom';
import { IOptimizeTarget, describeTarget } from './optimizeRequest';
import { IScaleneProfile } from './profile';

/** CSS class prefix of the panel. */
export const PROPOSAL_CSS = 'jp-ScaleneProposal';

/** What the panel needs from the notebook (given by the AI plugin). */
export interface IProposalHost {
  /** The current `scalene-lab:ai` settings. */
  settings(): AiSettings;
  /** Save one setting (the panel's provider and model choices). */
  save(key: string, value: string): Promise<void>;
  /** The request body's `request` for the target (the code read now). */
  request(): object;
  /** The code the proposal replaces (shown in the diff), or null when it is not in a cell. */
  cellSource(): string | null;
  /** Replace the cell's code (one step of the editor's undo). */
  apply(code: string): void;
  /** Apply, run the profiled cell as it was profiled, and resolve to the new profile (null: none came). */
  reprofile(code: string): Promise<IScaleneProfile | null>;
  /** Put text on the system clipboard. */
  copy(code: string): void;
}

/**
 * A panel for one target of one profile.
 */
export class ProposalPanel extends Widget {
  /**
   * Build the panel and ask at once.
   */
  constructor(
    readonly profile: IScaleneProfile,
    readonly target: IOptimizeTarget,
    private readonly _host: IProposalHost
  ) {
    super();
    this.addClass(PROPOSAL_CSS);
    const doc = this.node.ownerDocument;
    this.title.label = `Optimize ${describeTarget(target)}`;
    this.title.caption = `AI proposal for ${describeTarget(target)} of ${target.sourceKey}`;
    this.title.closable = true;
    this.id = `scalene-lab-proposal-${Private.nextId()}`;

    const heading = text(
      doc,
      'h2',
      `${PROPOSAL_CSS}-title`,
      `Optimize ${describeTarget(target)} of ${target.sourceKey}`
    );
    const controls = el(doc, 'div', `${PROPOSAL_CSS}-controls`);
    this._provider = el(doc, 'select', `${PROPOSAL_CSS}-provider`);
    this._provider.setAttribute('aria-label', 'Provider');
    this._model = el(doc, 'input', `${PROPOSAL_CSS}-model`);
    this._model.setAttribute('aria-label', 'Model');
    this._model.placeholder = 'model (the provider default)';
    this._models = el(doc, 'datalist', '');
    this._models.id = `${this.id}-models`;
    this._model.setAttribute('list', this._models.id);
    this._ask = Private.button(doc, 'Ask again', () => void this.ask());
    this._stop = Private.button(doc, 'Stop', () => this._controller?.abort());
    controls.append(this._provider, this._model, this._models, this._ask, this._stop);
    this._status = el(doc, 'div', `${PROPOSAL_CSS}-status`);
    this._status.setAttribute('role', 'status');
    this._stream = el(doc, 'pre', `${PROPOSAL_CSS}-stream`);
    this._result = el(doc, 'div', `${PROPOSAL_CSS}-result`);
    this.node.append(heading, controls, this._status, this._stream, this._result);

    this._provider.addEventListener('change', () => {
      // A model belongs to its provider: the new one starts from its default.
      this._model.value = '';
      void this._host
        .save('provider', this._provider.value)
        .then(() => this._host.save('model', ''))
        .then(() => this._loadModels());
    });
    this._model.addEventListener('change', () => void this._host.save('model', this._model.value.trim()));
    void this._loadProviders().then(() => this.ask());
  }

  /** The latest proposal (null until one arrives). */
  get proposal(): IProposal | null {
    return this._proposal;
  }

  /**
   * Ask (again) with the current settings; the previous request is stopped.
   */
  async ask(): Promise<void> {
    this._controller?.abort();
    const controller = new AbortController();
    this._controller = controller;
    this._proposal = null;
    this._stream.textContent = '';
    this._result.replaceChildren();
    this._busy(true, 'Asking…');
    let answered = false;
    const onLine = (line: AnswerLine) => {
      if (controller.signal.aborted) {
        return;
      }
      if (line.type === 'delta') {
        this._stream.textContent += line.text;
        this._status.textContent = 'Writing…';
      } else if (line.type === 'status') {
        this._status.textContent = line.message;
      } else if (line.type === 'proposal') {
        answered = true;
        this._showProposal(line);
      } else {
        answered = true;
        this._showError(line);
      }
    };
    try {
      const body = {
        settings: this._host.settings(),
        provider: this._provider.value || undefined,
        model: this._model.value.trim() || undefined,
        request: this._host.request()
      };
      await propose(body, onLine, controller.signal);
    } catch (error) {
      // The notebook closed, or the cell went away, while the answer came.
      answered = true;
      this._showError({
        type: 'error',
        kind: 'panel',
        message: `The proposal could not be shown: ${error instanceof Error ? error.message : String(error)}`
      });
    } finally {
      if (this._controller === controller) {
        this._controller = null;
        this._busy(false, answered ? (this._status.textContent ?? '') : 'Stopped.');
      }
    }
  }

  /** Stop any request in flight with the panel. */
  dispose(): void {
    this._controller?.abort();
    super.dispose();
  }

  private async _loadProviders(): Promise<void> {
    const reply = await postJson('status', { settings: this._host.settings() });
    const doc = this.node.ownerDocument;
    this._provider.replaceChildren();
    if (reply.error) {
      this._showError(reply.error as IAiError);
      return;
    }
    const auto = text(doc, 'option', '', `Default: ${Private.labelOf(reply) ?? 'none configured'}`);
    auto.value = '';
    this._provider.appendChild(auto);
    for (const status of reply.providers as IProviderStatus[]) {
      const how = !status.client_installed
        ? 'client not installed'
        : status.source
          ? `via ${status.source}`
          : 'not configured';
      const option = text(doc, 'option', '', `${status.label} (${how})`);
      option.value = status.name;
      this._provider.appendChild(option);
    }
    const chosen = String(this._host.settings().provider ?? 'auto');
    this._provider.value = chosen === 'auto' ? '' : chosen;
    this._model.value = String(this._host.settings().model ?? '');
    await this._loadModels();
  }

  private async _loadModels(): Promise<void> {
    this._models.replaceChildren();
    const reply = await postJson('models', {
      settings: this._host.settings(),
      provider: this._provider.value || undefined
    });
    for (const name of (reply.models as string[] | undefined) ?? []) {
      const option = el(this.node.ownerDocument, 'option', '');
      option.value = name;
      this._models.appendChild(option);
    }
  }

  private _busy(busy: boolean, status: string): void {
    this._ask.disabled = busy;
    this._stop.disabled = !busy;
    this._status.textContent = status;
    this.node.classList.toggle(`${PROPOSAL_CSS}-busy`, busy);
  }

  private _showProposal(proposal: IProposal): void {
    this._proposal = proposal;
    const doc = this.node.ownerDocument;
    this._stream.textContent = '';
    this._status.textContent = `Proposal from ${proposal.provider} (${proposal.model})`;
    const explanation = text(doc, 'div', `${PROPOSAL_CSS}-explanation`, proposal.explanation || '(no explanation)');
    const diff = el(doc, 'pre', `${PROPOSAL_CSS}-diff`);
    diff.setAttribute('aria-label', 'Changes to the code');
    for (const line of proposal.diff.replace(/\n$/, '').split('\n')) {
      diff.appendChild(text(doc, 'span', `${PROPOSAL_CSS}-${Private.diffKind(line)}`, `${line}\n`));
    }
    const actions = el(doc, 'div', `${PROPOSAL_CSS}-actions`);
    const inCell = this._host.cellSource() !== null;
    const copy = Private.button(doc, 'Copy', () => this._host.copy(proposal.code));
    const apply = Private.button(doc, 'Apply to cell', () => {
      this._host.apply(proposal.code);
      this._status.textContent = 'Applied to the cell (Undo in the editor takes it back).';
    });
    const reprofile = Private.button(doc, 'Apply and re-profile', () => void this._reprofile(proposal, reprofile));
    apply.disabled = reprofile.disabled = !inCell;
    if (!inCell) {
      actions.appendChild(
        text(doc, 'span', `${PROPOSAL_CSS}-note`, 'The code is not in a cell of this notebook: copy it.')
      );
    }
    actions.prepend(copy, apply, reprofile);
    this._comparison = el(doc, 'div', `${PROPOSAL_CSS}-comparison`);
    this._result.replaceChildren(explanation, diff, actions, this._comparison);
  }

  private async _reprofile(proposal: IProposal, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this._status.textContent = 'Running the changed cell under the profiler…';
    try {
      const after = await this._host.reprofile(proposal.code);
      if (after === null) {
        this._status.textContent = 'The cell ran, but no profile came back (see the cell output).';
        return;
      }
      this._status.textContent = 'Before and after:';
      this._comparison?.replaceChildren(renderComparison(this.profile, after, 'difference', this.node.ownerDocument));
    } catch (error) {
      this._status.textContent = `Re-profiling failed: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      button.disabled = false;
    }
  }

  private _showError(error: IAiError): void {
    const doc = this.node.ownerDocument;
    const box = el(doc, 'div', `${PROPOSAL_CSS}-error ${PROPOSAL_CSS}-error-${error.kind}`);
    box.setAttribute('role', 'alert');
    box.appendChild(text(doc, 'div', '', error.message));
    const partial = this._stream.textContent ?? '';
    if (error.kind === 'no_code' && partial) {
      box.appendChild(text(doc, 'div', `${PROPOSAL_CSS}-explanation`, partial));
    }
    this._stream.textContent = '';
    this._result.replaceChildren(box);
    this._status.textContent = '';
  }

  private _provider: HTMLSelectElement;
  private _model: HTMLInputElement;
  private _models: HTMLDataListElement;
  private _ask: HTMLButtonElement;
  private _stop: HTMLButtonElement;
  private _status: HTMLDivElement;
  private _stream: HTMLPreElement;
  private _result: HTMLDivElement;
  private _comparison: HTMLDivElement | null = null;
  private _proposal: IProposal | null = null;
  private _controller: AbortController | null = null;
}

namespace Private {
  let count = 0;

  /** How a unified diff line is drawn: the file names and hunk heads quietly. */
  export function diffKind(line: string): string {
    if (line.startsWith('@@') || line.startsWith('--- ') || line.startsWith('+++ ')) {
      return 'hunk';
    }
    return line.startsWith('+') ? 'added' : line.startsWith('-') ? 'removed' : 'same';
  }

  /** The default provider's name as users know it. */
  export function labelOf(reply: { default?: string | null; providers?: IProviderStatus[] }): string | null {
    return reply.providers?.find(p => p.name === reply.default)?.label ?? reply.default ?? null;
  }

  /** A number for the next panel's id. */
  export function nextId(): number {
    return count++;
  }

  export function button(doc: Document, label: string, onClick: () => void): HTMLButtonElement {
    const node = text(doc, 'button', `${PROPOSAL_CSS}-button jp-mod-styled`, label);
    node.type = 'button';
    node.addEventListener('click', onClick);
    return node;
  }
}
