/**
 * One checkpoint question. The learner picks a transport or types a number (a prediction may
 * be entered before the run); once the lab has run, Check says right or wrong and shows the
 * evidence — the metric per transport the answer was read from — and the lab's explanation,
 * as rendered from this run's numbers.
 * A correctness checkpoint (`expect`) also says, on its own, whether the run passed it.
 */
import { LitElement, css, html } from "lit";
import { METRIC_LABELS, type Checkpoint, type CheckpointEvaluation } from "../isomorphic/lab/index.js";
import { LabSession } from "../viewmodels/LabSession.js";
import { formatMetric } from "../viewmodels/labText.js";
import type { TransportName } from "../isomorphic/protocol/index.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base, transportChoice } from "./theme.js";

export class WirelabCheckpoint extends LitElement {
  static override properties = {
    session: { attribute: false },
    checkpoint: { attribute: false },
    number: { type: Number },
    draft: { state: true },
  };
  declare session: LabSession | undefined;
  declare checkpoint: Checkpoint | undefined;
  /** Its position in the lab, from 1. */
  declare number: number;
  /** The answer being entered, before Check. */
  declare draft: string;

  static override styles = [
    base,
    transportChoice,
    css`
      :host {
        display: block;
      }
      article {
        height: 100%;
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 0.85rem 1rem;
        box-shadow: var(--shadow);
        display: grid;
        gap: 0.6rem;
        align-content: start;
      }
      article[data-verdict="right"] {
        border-left: 5px solid var(--state-open-fg);
      }
      article[data-verdict="wrong"] {
        border-left: 5px solid var(--error);
      }
      header {
        display: flex;
        gap: 0.6rem;
        align-items: baseline;
      }
      .n {
        font-weight: 700;
        color: var(--accent);
      }
      h4 {
        margin: 0;
        font-size: 1.1rem;
        flex: 1;
      }
      .chip {
        padding: 0.05rem 0.5rem;
        border-radius: 999px;
        font-size: 0.8rem;
        font-weight: 600;
        white-space: nowrap;
        background: var(--state-idle-bg);
        color: var(--state-idle-fg);
      }
      .check {
        margin: 0;
        font-weight: 600;
      }
      .check[data-passed="true"] {
        color: var(--state-open-fg);
      }
      .check[data-passed="false"] {
        color: var(--error);
      }
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.8rem;
      }
      fieldset {
        display: flex;
        flex-wrap: wrap;
        gap: 0.35rem;
        border: none;
        margin: 0;
        padding: 0;
      }
      label.number {
        display: inline-flex;
        align-items: center;
        gap: 0.45rem;
      }
      input[type="number"] {
        width: 8rem;
        border: 1px solid var(--border-strong);
        border-radius: 6px;
        padding: 0.3rem 0.45rem;
        font: inherit;
      }
      .hint {
        font-size: 0.9rem;
      }
      .verdict {
        font-size: 1.08rem;
        font-weight: 650;
        margin: 0;
      }
      .verdict.right {
        color: var(--state-open-fg);
      }
      .verdict.wrong {
        color: var(--error);
      }
      .evidence {
        background: var(--surface-sunken);
        border-radius: 6px;
        padding: 0.5rem 0.7rem;
      }
      .evidence p {
        margin: 0 0 0.3rem;
      }
      .evidence table {
        border-collapse: collapse;
      }
      .evidence td {
        padding: 0.1rem 0.9rem 0.1rem 0;
        white-space: nowrap;
      }
      .evidence td.value {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      .evidence tr.accepted td {
        font-weight: 700;
      }
      .evidence tr.total td {
        border-top: 1px solid var(--border-strong);
        font-weight: 700;
      }
      .explain {
        margin: 0;
      }
    `,
  ];

  constructor() {
    super();
    this.session = undefined;
    this.checkpoint = undefined;
    this.number = 1;
    this.draft = "";
    new ChangeController(this, () => this.session);
  }

  /** A kept answer (the page came back, or was reloaded) fills the field it was given in. */
  override willUpdate(): void {
    if (this.draft !== "" || !this.checkpoint) return;
    const kept = this.session?.verdict(this.checkpoint.id);
    if (kept) this.draft = kept.given;
  }

  override render() {
    const s = this.session;
    const c = this.checkpoint;
    if (!s || !c) return html``;
    const evaluation = s.evaluation(c.id);
    const verdict = s.verdict(c.id);
    const kind = LabSession.answerKind(c);
    const headingId = `q-${c.id}`;
    return html`<article data-checkpoint=${c.id} data-verdict=${verdict ? (verdict.right ? "right" : "wrong") : "none"} aria-labelledby=${headingId}>
      <header>
        <span class="n">Q${this.number}</span>
        <h4 id=${headingId}>${c.question}</h4>
        ${c.expect !== undefined ? html`<span class="chip" title="The run must give ${c.expect} for the comparison to be fair">correctness check</span>` : ""}
      </header>
      ${evaluation && c.expect !== undefined
        ? html`<p class="check" data-passed=${String(evaluation.passed)}>
            ${evaluation.passed ? "✓ This run passed the check" : "✗ This run failed the check"}: expected ${c.expect}, measured
            ${answerText(evaluation)}.
          </p>`
        : ""}
      <form @submit=${this.#submit} aria-labelledby=${headingId}>
        ${kind === "transport" ? this.#transportChoice(s.transports, c.id) : this.#numberInput(c)}
        <button type="submit" data-action="check" ?disabled=${!evaluation || this.draft.trim() === ""}>Check</button>
        ${!evaluation ? html`<span class="hint muted">${s.running ? "Check once the run is done." : "Run the lab, then check your answer."}</span>` : ""}
      </form>
      <div role="status">${verdict && evaluation ? this.#outcome(verdict.given, verdict.right, evaluation) : ""}</div>
    </article>`;
  }

  #transportChoice(transports: readonly TransportName[], id: string) {
    return html`<fieldset>
      <legend class="visually-hidden">Your answer</legend>
      ${transports.map(
        (t) => html`<label class="choice" style="--choice-color: ${TRANSPORT_LOOK[t].color}">
          <input type="radio" name=${`answer-${id}`} value=${t} .checked=${this.draft === t} @change=${() => (this.draft = t)} />
          ${TRANSPORT_LOOK[t].label}
        </label>`,
      )}
    </fieldset>`;
  }

  #numberInput(c: Checkpoint) {
    const tolerance = c.tolerance > 0 ? `answers within ${Math.round(c.tolerance * 100)} % count` : "exactly";
    return html`<label class="number"
        >Your answer
        <input type="number" name="answer" step="any" inputmode="decimal" .value=${this.draft} @input=${(e: Event) => (this.draft = (e.target as HTMLInputElement).value)}
      /></label>
      <span class="hint muted">${METRIC_LABELS[c.answer.metric]}${c.answer.kind === "total" ? ", all transports together" : ""} · ${tolerance}</span>`;
  }

  #outcome(given: string, right: boolean, evaluation: CheckpointEvaluation) {
    const c = evaluation.checkpoint;
    const givenText = LabSession.answerKind(c) === "transport" ? (TRANSPORT_LOOK[given as TransportName]?.label ?? given) : given;
    const metric = c.answer.metric;
    const phase = c.answer.phase ? html` during <q>${c.answer.phase}</q>` : "";
    const entries = Object.entries(evaluation.evidence) as Array<[TransportName, number | null]>;
    const highlighted = (t: TransportName) => evaluation.accepted.includes(t) || (c.answer.kind === "value" && c.answer.transport === t);
    const mark = c.answer.kind === "most" ? "most" : c.answer.kind === "least" ? "least" : "";
    return html`<p class="verdict ${right ? "right" : "wrong"}" data-verdict=${right ? "right" : "wrong"}>
        ${evaluation.answer === null
          ? html`✗ This run gave no answer to check against (nothing was measured).`
          : right
            ? html`✓ Right: ${givenText}.`
            : html`✗ Not quite: you answered ${givenText}; the numbers say ${answerText(evaluation)}.`}
      </p>
      <div class="evidence" data-evidence>
        <p><strong>Evidence</strong>: ${METRIC_LABELS[metric]}${phase}, per transport</p>
        <table>
          <tbody>
            ${entries.map(
              ([t, value]) => html`<tr class=${highlighted(t) ? "accepted" : ""} data-transport=${t}>
                <td>${TRANSPORT_LOOK[t].label}</td>
                <td class="value">${formatMetric(metric, value)}</td>
                <td>${highlighted(t) && mark ? `← ${mark}` : ""}</td>
              </tr>`,
            )}
            ${c.answer.kind === "total"
              ? html`<tr class="total">
                  <td>all together</td>
                  <td class="value">${formatMetric(metric, evaluation.answer as number | null)}</td>
                  <td></td>
                </tr>`
              : ""}
          </tbody>
        </table>
      </div>
      ${evaluation.explanation ? html`<p class="explain">${evaluation.explanation.text}</p>` : ""}`;
  }

  #submit(event: SubmitEvent): void {
    event.preventDefault();
    if (this.checkpoint) this.session?.answer(this.checkpoint.id, this.draft);
  }
}

/** The answer the numbers give, in words: a transport (or a tie), or a number. */
function answerText(evaluation: CheckpointEvaluation): string {
  if (evaluation.answer === null) return "nothing (not measured)";
  if (typeof evaluation.answer === "number") return formatMetric(evaluation.checkpoint.answer.metric, evaluation.answer);
  return evaluation.accepted.map((t) => TRANSPORT_LOOK[t].label).join(" or ");
}

customElements.define("wirelab-checkpoint", WirelabCheckpoint);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-checkpoint": WirelabCheckpoint;
  }
}
