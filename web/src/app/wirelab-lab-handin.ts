/**
 * Hand a lab's result and answers in to the instructor of a class server. The server judges the
 * answers itself against the submitted result; a resubmission replaces the earlier one.
 */
import { LitElement, css, html } from "lit";
import { WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import type { LabSession } from "../viewmodels/LabSession.js";
import type { SubmissionSummary } from "../isomorphic/protocol/class.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { base } from "./theme.js";

export class WirelabLabHandin extends LitElement {
  static override properties = {
    session: { attribute: false },
    baseUrl: { attribute: false },
    token: { attribute: false },
    busy: { state: true },
    sent: { state: true },
    error: { state: true },
  };
  declare session: LabSession | undefined;
  declare baseUrl: string;
  declare token: string | (() => string);
  declare busy: boolean;
  declare sent: SubmissionSummary | undefined;
  declare error: string;

  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      p {
        margin: 0.4rem 0 0;
      }
      .error {
        color: var(--error);
      }
    `,
  ];

  constructor() {
    super();
    this.session = undefined;
    this.baseUrl = "";
    this.token = "";
    this.busy = false;
    this.sent = undefined;
    this.error = "";
    new ChangeController(this, () => this.session);
  }

  override render() {
    const done = this.session?.result !== null && this.session?.result !== undefined;
    const sent = this.sent;
    return html`<button class="primary" data-handin ?disabled=${!done || this.busy} @click=${this.#handIn}>
        ${this.busy ? "Handing in…" : sent ? "Hand in again" : "Hand in to the instructor"}
      </button>
      <p role="status" class=${this.error ? "error" : "muted"}>
        ${this.error
          ? this.error
          : sent
            ? html`<span data-handed-in>Handed in at ${new Date(sent.submittedAt).toLocaleTimeString()}: ${sent.checks.filter((c) => c.right).length} of ${sent.checks.length} checkpoints right.</span>`
            : done
              ? "Answer the checkpoints first: the instructor sees each answer and whether the numbers agree."
              : "Run the lab first; then hand in its result with your answers."}
      </p>`;
  }

  async #handIn(): Promise<void> {
    const session = this.session;
    const result = session?.result;
    if (!session || !result) return;
    this.busy = true;
    this.error = "";
    try {
      this.sent = await new WorkbenchApi(this.baseUrl, this.token).submit({ result, answers: session.answers() });
    } catch (error) {
      this.error = `Could not hand in: ${(error as Error).message}`;
    } finally {
      this.busy = false;
    }
  }
}

customElements.define("wirelab-lab-handin", WirelabLabHandin);
