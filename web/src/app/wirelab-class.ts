/**
 * The instructor's class view: who is connected and on what, assign a lab to everyone, class-wide
 * faults and the thundering-herd restart, the reconnect timeline and latency distribution over
 * every learner's clients, and the submissions. It renders a ClassMonitor and calls its verbs.
 */
import { LitElement, css, html } from "lit";
import type { ChartOptions } from "chart.js";

import { describeHerd, type ClassMonitor } from "../viewmodels/ClassMonitor.js";
import type { InstructorControls } from "../viewmodels/InstructorControls.js";
import type { LabCatalog, LabListing } from "../viewmodels/LabCatalog.js";
import { formatElapsed } from "../viewmodels/format.js";
import type { RosterEntry, SubmissionSummary } from "../isomorphic/protocol/class.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { NowController } from "./controllers/NowController.js";
import { latencyData, timelineData } from "./charts/classChartData.js";
import { download } from "./download.js";
import { base, classTable } from "./theme.js";
import { TRANSPORT_LOOK } from "./transports.js";
import "./wirelab-chart.js";
import { formatAnswer } from "./wirelab-class-submission.js";
import "./wirelab-controls.js";

export class WirelabClass extends LitElement {
  static override properties = {
    monitor: { attribute: false },
    controls: { attribute: false },
    catalog: { attribute: false },
    feedUrl: { attribute: false },
    joinUrls: { attribute: false },
    labs: { state: true },
    opened: { state: true },
  };
  declare monitor: ClassMonitor | undefined;
  declare controls: InstructorControls | undefined;
  declare catalog: LabCatalog | undefined;
  declare feedUrl: string;
  /** Where students join. */
  declare joinUrls: readonly string[];
  declare labs: LabListing["labs"];
  /** The submission shown in full, if any. */
  declare opened: string | undefined;
  readonly #now = new NowController(this, 1_000);

  static override styles = [
    base,
    classTable,
    css`
      :host {
        display: block;
      }
      h2 {
        margin: 0 0 0.25rem;
        font-size: 1.4rem;
      }
      h3 {
        margin: 0 0 0.5rem;
        font-size: 1.1rem;
      }
      section {
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 10px;
        padding: 0.9rem 1rem;
        margin: 0 0 1rem;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 0.8rem;
        align-items: center;
      }
      table {
        width: 100%;
      }
      .away td {
        opacity: 0.55;
      }
      .client {
        display: inline-block;
        margin: 0 0.5rem 0.15rem 0;
        white-space: nowrap;
      }
      .dot {
        display: inline-block;
        width: 0.6rem;
        height: 0.6rem;
        border-radius: 50%;
        margin-right: 0.25rem;
      }
      .state-open {
        font-weight: 600;
      }
      .said {
        min-height: 1.4em;
        margin: 0.4rem 0 0;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 28rem), 1fr));
        gap: 1rem;
      }
      wirelab-chart {
        --chart-height: 280px;
      }
      h3.herd {
        margin-top: 1.2rem;
      }
    `,
  ];

  constructor() {
    super();
    this.monitor = undefined;
    this.controls = undefined;
    this.catalog = undefined;
    this.feedUrl = "";
    this.joinUrls = [];
    this.labs = [];
    this.opened = undefined;
    new ChangeController(this, () => this.monitor);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.catalog?.list().then((listing) => {
      this.labs = listing.labs;
      if (this.monitor && this.monitor.submissionsLab === undefined) void this.monitor.loadSubmissions(this.#assignedLab() ?? listing.labs[0]?.id);
    });
  }

  focusHeading(): void {
    this.renderRoot.querySelector<HTMLElement>("h2")?.focus();
  }

  override render() {
    const m = this.monitor;
    if (!m) return html``;
    void this.#now.now;
    const present = m.roster.filter((r) => !m.isAway(r));
    const learners = new Set(present.filter((r) => r.user.role === "learner").map((r) => r.user.id)).size;
    return html`<h2 tabindex="-1">Class</h2>
      <p class="muted" data-class-summary>
        ${learners} learner${learners === 1 ? "" : "s"} connected · ${present.length} page${present.length === 1 ? "" : "s"}
        ${this.joinUrls.length > 0 ? html` · students join at ${this.joinUrls.map((u, i) => html`${i > 0 ? ", " : ""}<b data-join-url>${u}</b>`)}` : ""}
        ${m.error ? html` · <span class="wrong">the server does not answer (${m.error}); retrying</span>` : ""}
      </p>
      <p class="said" role="status">${m.busy ? `${m.busy}…` : (m.message ?? "")}</p>
      ${this.#assignment(m)} ${this.#roster(m)} ${this.#experiments(m)}
      <div class="grid">${this.#timeline(m)} ${this.#latency(m)}</div>
      ${this.#submissions(m)}`;
  }

  #assignedLab(): string | undefined {
    return this.monitor?.view?.assignment?.lab;
  }

  #assignment(m: ClassMonitor) {
    const assignment = m.view?.assignment;
    const title = (id: string) => this.labs.find((l) => l.id === id)?.title ?? id;
    return html`<section aria-labelledby="assign-h">
      <h3 id="assign-h">Assign a lab</h3>
      <div class="row">
        <label>lab <select name="assign-lab" .value=${assignment?.lab ?? this.labs[0]?.id ?? ""}>
          ${this.labs.map((l) => html`<option value=${l.id} ?selected=${l.id === assignment?.lab}>${l.id.slice(0, 2)} · ${l.title}</option>`)}
        </select></label>
        <button class="primary" ?disabled=${m.busy !== null || this.labs.length === 0} @click=${this.#assign}>Assign to everyone</button>
        <button ?disabled=${m.busy !== null || !assignment} @click=${() => m.assign(null)}>Clear</button>
        <span data-assignment>${assignment ? html`Assigned: <b>${title(assignment.lab)}</b> (${ago(m.serverNow() - assignment.at)} ago)` : html`<span class="muted">No lab assigned.</span>`}</span>
      </div>
    </section>`;
  }

  #assign(): void {
    const lab = this.renderRoot.querySelector<HTMLSelectElement>("select[name=assign-lab]")?.value;
    if (lab) void this.monitor?.assign(lab);
  }

  #roster(m: ClassMonitor) {
    const rows = m.roster;
    return html`<section aria-labelledby="roster-h">
      <h3 id="roster-h">Who is connected</h3>
      ${rows.length === 0
        ? html`<p class="muted">Nobody yet. Learners appear here a few seconds after they join.</p>`
        : html`<div class="table"><table data-roster>
            <thead><tr><th>name</th><th>viewing</th><th>clients</th><th>instance</th><th>last seen</th></tr></thead>
            <tbody>${rows.map((r) => this.#rosterRow(m, r))}</tbody>
          </table></div>`}
    </section>`;
  }

  #rosterRow(m: ClassMonitor, r: RosterEntry) {
    const now = m.serverNow();
    const away = m.isAway(r);
    return html`<tr class=${away ? "away" : ""} data-learner=${r.user.name}>
      <td>${r.user.name}${r.user.role === "instructor" ? html` <span class="muted">(instructor)</span>` : ""}</td>
      <td>${r.view === "lab" ? html`lab <b>${r.lab}</b>` : r.view}</td>
      <td>${r.clients.length === 0
        ? html`<span class="muted">none open</span>`
        : r.clients.map((c) => html`<span class="client" title=${c.lastByteAt === undefined ? "" : `last byte ${ago(now - c.lastByteAt)} ago`}
              ><span class="dot" style="background:${TRANSPORT_LOOK[c.transport].color}"></span>${TRANSPORT_LOOK[c.transport].label}
              <span class="state-${c.state}">${c.state}</span></span
            >`)}</td>
      <td>${r.clients.find((c) => c.instance)?.instance ?? r.instance}</td>
      <td>${away ? html`<b>away</b> · ` : ""}${ago(now - r.lastSeenAt)} ago</td>
    </tr>`;
  }

  #experiments(m: ClassMonitor) {
    const waves = m.waves();
    const jitter = m.view?.jitter ?? true;
    return html`<section aria-labelledby="faults-h">
      <h3 id="faults-h">Class-wide experiments</h3>
      <p class="muted">Every learner's workbench clients cross this server (and its network emulator): faults here reach the whole class.</p>
      <wirelab-controls .controls=${this.controls} .feedUrl=${this.#learnersFeed()}></wirelab-controls>
      <h3 class="herd">Thundering herd (lab 08, for the class)</h3>
      <p>Learners' clients now reconnect <b data-jitter>${jitter ? "with full jitter" : "without jitter"}</b>. Ask everyone to stay on the Workbench, then restart:</p>
      <div class="row">
        <button ?disabled=${m.busy !== null} @click=${() => m.restartStorm(false)}>Restart without jitter</button>
        <button ?disabled=${m.busy !== null} @click=${() => m.restartStorm(true)}>Restart with full jitter</button>
      </div>
      ${waves.length === 0
        ? ""
        : html`<div class="table"><table data-waves>
            <thead><tr><th>restart</th><th>jitter</th><th>clients back</th><th>learners</th><th>WebSockets: first to last (ms)</th><th>all clients: first to last (ms)</th><th>restart to last (ms)</th></tr></thead>
            <tbody>${waves.map((w) => html`<tr>
              <td>${new Date(w.mark.at).toLocaleTimeString()}</td><td>${w.mark.jitter ? "full" : "none"}</td>
              <td>${w.reconnects}</td><td>${w.pages}</td><td>${w.spreadByLink.websocket ?? "–"}</td><td>${w.spreadMs ?? "–"}</td><td>${w.lastMs ?? "–"}</td>
            </tr>`)}</tbody>
          </table></div>
          <p data-herd>${describeHerd(waves)}</p>`}
    </section>`;
  }

  /** Where learners' clients connect: the emulator's port on the address students join at. */
  #learnersFeed(): string {
    const join = this.joinUrls[0];
    if (!join || !this.feedUrl) return this.feedUrl;
    const url = new URL(join);
    url.port = new URL(this.feedUrl).port;
    return url.origin;
  }

  #timeline(m: ClassMonitor) {
    const timeline = m.timeline;
    const origin = Math.min(timeline[0]?.at ?? m.serverNow(), ...m.marks.map((k) => k.at)) - 1_000;
    const { data, rows } = timelineData(timeline, m.marks, origin);
    const options: ChartOptions<"scatter"> = {
      scales: {
        x: { type: "linear", title: { display: true, text: `seconds since ${new Date(origin).toLocaleTimeString()}` } },
        y: {
          type: "linear",
          min: -0.5,
          max: Math.max(rows.length - 0.5, 0.5),
          // One tick per learner, named.
          afterBuildTicks: (axis) => {
            axis.ticks = rows.map((_, value) => ({ value }));
          },
          ticks: { callback: (v) => rows[Number(v)] ?? "" },
        },
      },
      plugins: { legend: { position: "bottom" } },
    };
    return html`<section aria-labelledby="timeline-h">
      <h3 id="timeline-h">Reconnects, class-wide</h3>
      <p class="muted">One row per learner, one dot per connection coming back (a client, or the page's own check-ins after the server was away).</p>
      ${timeline.length === 0
        ? html`<p data-timeline-empty>No reconnects yet.</p>`
        : html`<wirelab-chart type="scatter" .data=${data} .options=${options} label="reconnects of every learner's clients over time"></wirelab-chart>
            <p class="muted" data-timeline>${timeline.length} reconnect${timeline.length === 1 ? "" : "s"} from ${rows.length} learner${rows.length === 1 ? "" : "s"}: ${rows.join(", ")}</p>`}
    </section>`;
  }

  #latency(m: ClassMonitor) {
    const rows = m.latency();
    const options: ChartOptions<"bar"> = {
      scales: { x: { title: { display: true, text: "latency (ms)" } }, y: { title: { display: true, text: "deliveries" }, beginAtZero: true } },
      plugins: { legend: { position: "bottom" } },
    };
    return html`<section aria-labelledby="latency-h">
      <h3 id="latency-h">Latency over every learner's clients</h3>
      ${rows.length === 0
        ? html`<p class="muted">No deliveries measured yet: learners' workbenches report them as messages arrive.</p>`
        : html`<wirelab-chart type="bar" .data=${latencyData(rows)} .options=${options} label="latency distribution per transport, whole class"></wirelab-chart>
            <div class="table"><table data-latency>
              <thead><tr><th>transport</th><th>deliveries</th><th>median</th><th>95th percentile</th></tr></thead>
              <tbody>${rows.map((r) => html`<tr><td>${TRANSPORT_LOOK[r.transport].label}</td><td>${r.count}</td><td>${r.p50}</td><td>${r.p95}</td></tr>`)}</tbody>
            </table></div>`}
    </section>`;
  }

  #submissions(m: ClassMonitor) {
    const lab = m.submissionsLab;
    const rows = m.submissions;
    const ids = [...new Set(rows.flatMap((s) => s.checks.map((c) => c.id)))];
    return html`<section aria-labelledby="subs-h">
      <h3 id="subs-h">Submissions</h3>
      <div class="row">
        <label>lab <select name="subs-lab" @change=${this.#pickLab}>
          ${this.labs.map((l) => html`<option value=${l.id} ?selected=${l.id === lab}>${l.id.slice(0, 2)} · ${l.title}</option>`)}
        </select></label>
        <button @click=${() => m.loadSubmissions(lab)}>Refresh</button>
        <button ?disabled=${rows.length === 0} @click=${this.#csv}>Download CSV</button>
      </div>
      ${rows.length === 0
        ? html`<p class="muted" data-no-submissions>No submissions for this lab yet.</p>`
        : html`<div class="table"><table data-submissions>
            <thead><tr><th>name</th><th>submitted</th><th>right</th>${ids.map((id) => html`<th>${id}</th>`)}<th></th></tr></thead>
            <tbody>${rows.map((s) => this.#submissionRow(s, ids))}</tbody>
          </table></div>`}
      ${this.opened ? html`<wirelab-class-submission .api=${m.api} .catalog=${this.catalog} .submissionId=${this.opened} @close=${() => (this.opened = undefined)}></wirelab-class-submission>` : ""}
    </section>`;
  }

  #submissionRow(s: SubmissionSummary, ids: string[]) {
    const right = s.checks.filter((c) => c.right).length;
    return html`<tr data-submission=${s.user.name}>
      <td>${s.user.name}</td>
      <td>${new Date(s.submittedAt).toLocaleTimeString()}</td>
      <td>${right} of ${s.checks.length}</td>
      ${ids.map((id) => {
        const check = s.checks.find((c) => c.id === id);
        if (!check) return html`<td></td>`;
        const title = `${check.question}\nanswer: ${check.given ?? "(none)"}; the numbers gave ${formatAnswer(check.answer)}`;
        if (check.given === null) return html`<td title=${title}><span class="muted">not answered</span></td>`;
        return html`<td title=${title}><span class=${check.right ? "right" : "wrong"}>${check.right ? "✓" : "✗"}</span> ${check.given}</td>`;
      })}
      <td><button @click=${() => (this.opened = s.id)}>Open</button></td>
    </tr>`;
  }

  #pickLab(event: Event): void {
    this.opened = undefined;
    void this.monitor?.loadSubmissions((event.target as HTMLSelectElement).value);
  }

  async #csv(): Promise<void> {
    const m = this.monitor;
    if (!m) return;
    const lab = m.submissionsLab;
    const text = await m.csv(lab);
    download(`${lab ?? "all-labs"}-submissions.csv`, new Blob([text], { type: "text/csv" }));
  }
}

function ago(ms: number): string {
  return formatElapsed(Math.max(0, ms));
}

customElements.define("wirelab-class", WirelabClass);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-class": WirelabClass;
  }
}
