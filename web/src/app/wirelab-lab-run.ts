/**
 * A lab's scenario as steps, the run options, Run and Stop, and the progress: the step under
 * way is highlighted with its time, finished steps are ticked. Everything comes from the LabSession.
 */
import { LitElement, css, html } from "lit";
import { formatDuration, scaleLab } from "../isomorphic/lab/index.js";
import { LabSession, QUICK_TIME_SCALE, type LabStep } from "../viewmodels/LabSession.js";
import { plannedMs } from "../viewmodels/labText.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base } from "./theme.js";
import "./wirelab-lab-clients.js";

const MARK: Record<LabStep["status"], string> = { pending: "", current: "▶", done: "✓", interrupted: "■" };
const STATUS_WORD: Record<LabStep["status"], string> = { pending: "to do", current: "running", done: "done", interrupted: "stopped" };

export class WirelabLabRun extends LitElement {
  static override properties = { session: { attribute: false } };
  declare session: LabSession | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      h3 {
        margin: 0 0 0.5rem;
        font-size: 1.2rem;
      }
      .facts {
        display: flex;
        flex-wrap: wrap;
        gap: 0.35rem 0.5rem;
        margin: 0 0 0.7rem;
        padding: 0;
        list-style: none;
      }
      .facts li {
        padding: 0.1rem 0.55rem;
        border-radius: 999px;
        background: var(--surface-sunken);
        border: 1px solid var(--border);
        font-size: 0.92rem;
      }
      .facts li.transport {
        border-color: var(--transport-color);
        color: var(--transport-color);
        font-weight: 650;
      }
      ol.steps {
        list-style: none;
        margin: 0 0 0.8rem;
        padding: 0;
        display: grid;
        gap: 0.3rem;
      }
      .steps li {
        display: grid;
        grid-template-columns: 1.6rem minmax(0, 1fr) auto;
        align-items: baseline;
        column-gap: 0.4rem;
        padding: 0.35rem 0.55rem;
        border-radius: 6px;
        border: 1px solid var(--border);
        background: var(--surface);
      }
      .steps .mark {
        font-weight: 700;
        text-align: center;
        color: var(--text-muted);
      }
      .steps .name {
        font-weight: 650;
      }
      .steps .what {
        display: block;
        font-size: 0.92rem;
        color: var(--text-muted);
      }
      .steps .time {
        font-size: 0.92rem;
        white-space: nowrap;
        color: var(--text-muted);
      }
      .steps li[data-status="current"] {
        border-color: var(--accent);
        box-shadow: inset 4px 0 0 var(--accent);
        background: #e8f1fb;
      }
      .steps li[data-status="current"] .mark,
      .steps li[data-status="current"] .time {
        color: var(--accent-strong);
        font-weight: 700;
      }
      .steps li[data-status="done"] .mark {
        color: var(--state-open-fg);
      }
      .steps li[data-status="interrupted"] {
        border-color: var(--error);
      }
      .steps li[data-status="interrupted"] .mark {
        color: var(--error);
      }
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.6rem 1rem;
      }
      label {
        display: inline-flex;
        align-items: center;
        gap: 0.4rem;
      }
      input[type="number"] {
        width: 4.5rem;
        border: 1px solid var(--border-strong);
        border-radius: 6px;
        padding: 0.3rem 0.45rem;
        font: inherit;
      }
      input[type="checkbox"] {
        width: 1.05rem;
        height: 1.05rem;
        margin: 0;
      }
      .buttons {
        display: flex;
        gap: 0.5rem;
        margin-left: auto;
      }
      .buttons button {
        font-size: 1.05rem;
        padding: 0.4rem 1.2rem;
      }
      button.stop {
        border-color: var(--error);
        color: var(--error);
        font-weight: 600;
      }
      .status {
        margin: 0.7rem 0 0;
        font-size: 1.02rem;
        min-height: 1.5em;
      }
      .status[data-state="done"] {
        color: var(--state-open-fg);
        font-weight: 600;
      }
      .status[data-state="failed"],
      .note.error {
        color: var(--error);
      }
      .note {
        margin: 0.6rem 0 0;
        padding: 0.45rem 0.65rem;
        border-radius: 6px;
        background: var(--state-wait-bg);
        color: var(--state-wait-fg);
        font-size: 0.95rem;
      }
      .note.error {
        background: var(--state-closed-bg);
      }
      /* Information, not a warning: the run is as the lab file asks. */
      .note[data-mode="own"] {
        background: var(--surface-sunken);
        color: var(--text-muted);
      }
      progress {
        width: 100%;
        height: 0.6rem;
        margin-top: 0.5rem;
        accent-color: var(--accent);
      }
    `,
  ];

  constructor() {
    super();
    this.session = undefined;
    new ChangeController(this, () => this.session);
  }

  override render() {
    const s = this.session;
    if (!s) return html``;
    const { scenario } = s.lab;
    const permission = s.permission;
    const planned = plannedMs(scaleLab(s.lab, s.timeScale));
    const steps = s.steps;
    return html`<h3 id="h-run">Scenario</h3>
      <ul class="facts" aria-label="what runs">
        ${scenario.transports.map(
          (t) => html`<li class="transport" style="--transport-color: ${TRANSPORT_LOOK[t].color}">${TRANSPORT_LOOK[t].label}</li>`,
        )}
        <li data-fact="clients">${this.#clientsFact(s)}</li>
        <li>${scenario.messageBytes}-character messages</li>
        ${scenario.transports.includes("short-poll") ? html`<li>polls every ${formatDuration(scenario.pollIntervalMs)}</li>` : ""}
      </ul>
      <ol class="steps" aria-label="steps">
        ${steps.map(
          (step, i) => html`<li data-status=${step.status} aria-current=${step.status === "current" ? "step" : "false"}>
            <span class="mark" aria-hidden="true">${MARK[step.status] || i + 1}</span>
            <span><span class="name">${step.name}</span><span class="what">${step.text}</span></span>
            <span class="time">${this.#time(step)}<span class="visually-hidden">, ${STATUS_WORD[step.status]}</span></span>
          </li>`,
        )}
      </ol>
      <form @submit=${this.#submit} aria-labelledby="h-run">
        <label
          >Clients per transport
          <input
            name="clients"
            type="number"
            min="1"
            max="50"
            step="1"
            .value=${String(s.clients)}
            ?disabled=${s.running}
            @change=${(e: Event) => s.setOptions({ clients: Number((e.target as HTMLInputElement).value) })}
        /></label>
        <label title="Every timed step runs at ${QUICK_TIME_SCALE * 100} % of its length; counts and rates stay">
          <input name="quick" type="checkbox" .checked=${s.quick} ?disabled=${s.running} @change=${(e: Event) => s.setOptions({ quick: (e.target as HTMLInputElement).checked })} />
          Quick run (steps at ¼ length)
        </label>
        ${s.ownPoolsPossible
          ? html`<label title="Each client connects to a host name of its own under .localhost (this computer), so each has the browser's six connections per host">
              <input name="own-pools" type="checkbox" .checked=${s.ownPools} ?disabled=${s.running} @change=${(e: Event) => s.setOptions({ ownPools: (e.target as HTMLInputElement).checked })} />
              Connections of its own per client
            </label>`
          : ""}
        <span class="buttons">
          <!-- One button that turns from Run into Stop, so the keyboard focus stays on it. -->
          <button type="submit" class=${s.running ? "stop" : "primary"} data-action=${s.running ? "stop" : "run"} ?disabled=${!s.running && !permission.ok}>
            ${s.running ? "Stop" : s.state === "ready" ? "Run" : "Run again"}
          </button>
        </span>
      </form>
      ${s.running
        ? planned > 0
          ? html`<progress max=${planned} .value=${Math.min(planned, s.elapsedMs)} aria-label="time through the planned steps"></progress>`
          : html`<progress aria-label="running"></progress>`
        : ""}
      <p class="status" role="status" data-state=${s.state}>${this.#status(s, planned)}</p>
      ${!permission.ok ? html`<p class="note error">${permission.reason}</p>` : ""}
      ${s.connectionWarning ? html`<p class="note" data-warning="connections">${s.connectionWarning}</p>` : ""}
      ${s.connectionNote ? html`<p class="note" data-note="connections" data-mode=${s.connectionMode}>${s.connectionNote}</p>` : ""}
      ${s.error && s.state === "failed" ? html`<p class="note error" role="alert">The run failed: ${s.error}</p>` : ""}
      <wirelab-lab-clients .session=${s}></wirelab-lab-clients>`;
  }

  /** "10 clients each", or what a page from another computer runs: "2 clients each (WebSocket 10)". */
  #clientsFact(s: LabSession): string {
    const { transports } = s.lab.scenario;
    const plural = (n: number) => `${n} client${n === 1 ? "" : "s"}`;
    const fewest = Math.min(...transports.map((t) => s.clientsOf(t)));
    const more = transports.filter((t) => s.clientsOf(t) > fewest);
    if (more.length === 0) return `${plural(fewest)} each`;
    return `${plural(fewest)} each (${more.map((t) => `${TRANSPORT_LOOK[t].label} ${s.clientsOf(t)}`).join(", ")})`;
  }

  #time(step: LabStep): string {
    if (step.startMs === undefined) return "";
    const end = step.endMs ?? this.session!.elapsedMs;
    return `${formatDuration(Math.max(0, end - step.startMs))}`;
  }

  #status(s: LabSession, planned: number): string {
    switch (s.state) {
      case "ready":
        return `Takes about ${formatDuration(planned)}, plus connecting and counting at the end.`;
      case "running": {
        const steps = s.lab.scenario.phases.length;
        const where = s.stepIndex < 0 ? "connecting the clients" : s.stepIndex >= steps ? "counting what arrived" : `step ${s.stepIndex + 1} of ${steps}`;
        return `Running: ${where} · ${formatDuration(s.elapsedMs)} elapsed`;
      }
      case "done":
        return `Done in ${formatDuration(s.elapsedMs)}. Answer the checkpoints below.`;
      case "stopped":
        return `Stopped after ${formatDuration(s.elapsedMs)}: the numbers so far are shown, the checkpoints need a complete run.`;
      case "failed":
        return "The run did not complete.";
    }
  }

  #submit(event: SubmitEvent): void {
    event.preventDefault();
    const s = this.session;
    if (!s) return;
    if (s.running) {
      s.stop();
      return;
    }
    // Enter in the clients field submits before its change event: read the fields here too.
    const form = event.currentTarget as HTMLFormElement;
    const clients = (form.elements.namedItem("clients") as HTMLInputElement).valueAsNumber;
    const quick = (form.elements.namedItem("quick") as HTMLInputElement).checked;
    const ownPools = (form.elements.namedItem("own-pools") as HTMLInputElement | null)?.checked;
    s.setOptions({ ...(Number.isInteger(clients) && { clients }), quick, ...(ownPools !== undefined && { ownPools }) });
    void s.run();
  }
}

customElements.define("wirelab-lab-run", WirelabLabRun);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-lab-run": WirelabLabRun;
  }
}
