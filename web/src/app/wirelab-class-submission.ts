/**
 * One learner's submission, opened from the class view: each checkpoint with the learner's answer
 * and what the numbers gave, and the submitted run's figures per transport.
 */
import { LitElement, css, html } from "lit";
import type { WorkbenchApi } from "../kit/WorkbenchApi.js";
import type { LabCatalog } from "../measure/LabCatalog.js";
import { METRICS, METRIC_LABELS, metricValue, type LabDefinition } from "../lab/index.js";
import type { Submission } from "../protocol/class.js";
import { base, classTable } from "./theme.js";
import { TRANSPORT_LOOK } from "./transports.js";

export class WirelabClassSubmission extends LitElement {
  static override properties = {
    api: { attribute: false },
    catalog: { attribute: false },
    submissionId: { attribute: false },
    submission: { state: true },
    lab: { state: true },
    error: { state: true },
  };
  declare api: WorkbenchApi | undefined;
  declare catalog: LabCatalog | undefined;
  declare submissionId: string | undefined;
  declare submission: Submission | undefined;
  declare lab: LabDefinition | undefined;
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
    this.lab = undefined;
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
        this.lab = await this.catalog?.load(submission.lab).catch(() => undefined);
      },
      (error: Error) => (this.error = error.message),
    );
  }

  override render() {
    if (this.error) return html`<p class="wrong">Could not open the submission: ${this.error}</p>`;
    const s = this.submission;
    if (!s) return html`<p class="muted">Opening…</p>`;
    const metrics = this.lab?.measure ?? METRICS.filter((m) => m !== "reconnectSpreadMs");
    return html`<h4 data-opened=${s.user.name}>${s.user.name} · ${this.lab?.title ?? s.lab} · ${new Date(s.submittedAt).toLocaleString()}</h4>
      <div class="table"><table>
        <thead><tr><th>question</th><th>answer</th><th>the numbers gave</th><th></th></tr></thead>
        <tbody>${s.checks.map((c) => html`<tr><td>${c.question}</td><td>${c.given ?? "–"}</td><td>${formatAnswer(c.answer)}</td>
          <td class=${c.given === null ? "muted" : c.right ? "right" : "wrong"}>${c.given === null ? "not answered" : c.right ? "✓ right" : "✗ wrong"}</td></tr>`)}</tbody>
      </table></div>
      <div class="table"><table data-submitted-result>
        <thead><tr><th>metric</th>${s.result.transports.map((t) => html`<th>${TRANSPORT_LOOK[t.transport].label}</th>`)}</tr></thead>
        <tbody>${metrics.map((m) => html`<tr><td>${METRIC_LABELS[m]}</td>${s.result.transports.map((t) => html`<td class="n">${format(metricValue(t, m))}</td>`)}</tr>`)}</tbody>
      </table></div>
      <button @click=${() => this.dispatchEvent(new CustomEvent("close"))}>Close</button>`;
  }
}

/** A numeric answer as the lab page shows it (1,477), a transport as it is. */
export function formatAnswer(answer: string | null): string {
  if (answer === null) return "–";
  const n = Number(answer);
  return answer.trim() !== "" && Number.isFinite(n) ? format(n) : answer;
}

function format(value: number | null): string {
  if (value === null) return "–";
  return Number.isInteger(value) ? value.toLocaleString("en") : value.toFixed(1);
}

customElements.define("wirelab-class-submission", WirelabClassSubmission);
