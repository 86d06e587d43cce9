/**
 * One learner's submission, opened from the class view: each checkpoint with the learner's answer
 * and what the numbers gave, and the submitted run's charts and figures, drawn by the lab page's
 * own components from a LabSession of the submitted result.
 */
import { LitElement, css, html } from "lit";
import type { WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import type { LabCatalog } from "../viewmodels/LabCatalog.js";
import type { LabDefinition } from "../isomorphic/lab/index.js";
import { LabSession } from "../viewmodels/LabSession.js";
import { formatCount } from "../viewmodels/format.js";
import type { Submission } from "../isomorphic/protocol/class.js";
import { base, classTable } from "./theme.js";
import "./wirelab-lab-charts.js";
import "./wirelab-lab-results.js";

export class WirelabClassSubmission extends LitElement {
  static override properties = {
    api: { attribute: false },
    catalog: { attribute: false },
    submissionId: { attribute: false },
    submission: { state: true },
    run: { state: true },
    error: { state: true },
  };
  declare api: WorkbenchApi | undefined;
  declare catalog: LabCatalog | undefined;
  declare submissionId: string | undefined;
  declare submission: Submission | undefined;
  /** The submitted run, shown as a finished lab run. */
  declare run: LabSession | undefined;
  declare error: string;
  #loaded: string | undefined;

  static override styles = [
    base,
    classTable,
    css`
      :host {
        display: block;
        margin-top: 1rem;
        border-top: 2px solid var(--border);
        padding-top: 0.8rem;
      }
      h4 {
        margin: 0 0 0.5rem;
        font-size: 1.05rem;
      }
      .table {
        margin-bottom: 0.8rem;
      }
    `,
  ];

  constructor() {
    super();
    this.api = undefined;
    this.catalog = undefined;
    this.submissionId = undefined;
    this.submission = undefined;
    this.run = undefined;
    this.error = "";
  }

  override willUpdate(): void {
    const id = this.submissionId;
    if (!id || id === this.#loaded || !this.api) return;
    this.#loaded = id;
    this.submission = undefined;
    void this.api.submission(id).then(
      async (submission) => {
        this.submission = submission;
        const lab: LabDefinition | undefined = await this.catalog?.load(submission.lab).catch(() => undefined);
        if (lab && this.api) this.run = LabSession.ofResult(lab, submission.result, submission.answers, { baseUrl: this.api.baseUrl, token: "", role: "instructor" });
      },
      (error: Error) => (this.error = error.message),
    );
  }

  override render() {
    if (this.error) return html`<p class="wrong">Could not open the submission: ${this.error}</p>`;
    const s = this.submission;
    if (!s) return html`<p class="muted">Opening…</p>`;
    return html`<h4 data-opened=${s.user.name}>${s.user.name} · ${this.run?.lab.title ?? s.lab} · ${new Date(s.submittedAt).toLocaleString()}</h4>
      <div class="table"><table>
        <thead><tr><th>question</th><th>answer</th><th>the numbers gave</th><th></th></tr></thead>
        <tbody>${s.checks.map((c) => html`<tr><td>${c.question}</td><td>${c.given ?? "–"}</td><td>${formatAnswer(c.answer)}</td>
          <td class=${c.given === null ? "muted" : c.right ? "right" : "wrong"}>${c.given === null ? "not answered" : c.right ? "✓ right" : "✗ wrong"}</td></tr>`)}</tbody>
      </table></div>
      ${this.run
        ? html`<wirelab-lab-charts .session=${this.run}></wirelab-lab-charts>
            <wirelab-lab-results .session=${this.run}></wirelab-lab-results>`
        : html`<p class="muted">The lab file of this submission is gone or broken: its charts cannot be drawn.</p>`}
      <button @click=${() => this.dispatchEvent(new CustomEvent("close"))}>Close</button>`;
  }
}

/** A numeric answer as the lab page writes numbers (1,477), a transport as it is. */
export function formatAnswer(answer: string | null): string {
  if (answer === null) return "–";
  const n = Number(answer);
  return answer.trim() !== "" && Number.isFinite(n) ? formatCount(n) : answer;
}

customElements.define("wirelab-class-submission", WirelabClassSubmission);
