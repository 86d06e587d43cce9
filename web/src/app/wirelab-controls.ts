/**
 * The instructor's "network & faults" bar: emulated network conditions for the panels (or one
 * transport's), and server faults. It renders an InstructorControls model and calls its verbs.
 */
import { LitElement, css, html } from "lit";
import { TRANSPORTS } from "../isomorphic/protocol/index.js";
import type { InstructorControls, Target } from "../viewmodels/InstructorControls.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base } from "./theme.js";

export class WirelabControls extends LitElement {
  static override properties = {
    controls: { attribute: false },
    feedUrl: { attribute: false },
    target: { state: true },
  };
  declare controls: InstructorControls | undefined;
  /** Where the panels connect; shown so nobody wonders whether they cross the emulator. */
  declare feedUrl: string;
  declare target: Target;

  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: flex-end;
        gap: 0.6rem 1.5rem;
      }
      fieldset {
        display: flex;
        flex-wrap: wrap;
        align-items: flex-end;
        gap: 0.4rem;
        border: none;
        margin: 0;
        padding: 0;
      }
      legend {
        font-weight: 600;
        padding: 0 0 0.25rem;
      }
      label {
        display: grid;
        gap: 0.15rem;
        font-size: 0.85rem;
        color: var(--text-muted);
      }
      input[type="number"] {
        width: 4.2rem;
        border: 1px solid var(--border-strong);
        border-radius: 6px;
        padding: 0.3rem 0.4rem;
        font: inherit;
        color: var(--text);
      }
      .status {
        margin: 0.5rem 0 0;
        display: flex;
        flex-wrap: wrap;
        gap: 0.3rem 0.6rem;
        min-height: 1.6em;
        font-size: 0.9rem;
      }
      .fact {
        background: var(--state-wait-bg);
        color: var(--state-wait-fg);
        border-radius: 999px;
        padding: 0.05rem 0.6rem;
      }
      .fact.calm {
        background: var(--surface-sunken);
        color: var(--text-muted);
      }
      .said {
        flex: 1 1 20rem;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .said.error {
        color: var(--error);
      }
      .where {
        font-size: 0.85rem;
      }
    `,
  ];

  constructor() {
    super();
    this.controls = undefined;
    this.feedUrl = "";
    this.target = "all";
    new ChangeController(this, () => this.controls);
  }

  override render() {
    const c = this.controls;
    if (!c) return html``;
    const busy = c.busy !== null;
    const hasNetwork = c.network !== null;
    const facts = c.describe();
    return html`<form @submit=${(e: Event) => e.preventDefault()} aria-label="network and faults">
        <fieldset>
          <legend>Aim at</legend>
          <label
            >transport
            <select name="target" .value=${this.target} @change=${(e: Event) => (this.target = (e.target as HTMLSelectElement).value as Target)}>
              <option value="all">every transport</option>
              ${TRANSPORTS.map((t) => html`<option value=${t}>${TRANSPORT_LOOK[t].label}</option>`)}
            </select>
          </label>
        </fieldset>
        <fieldset ?disabled=${!hasNetwork || busy}>
          <legend>Network${hasNetwork ? "" : " (no emulator on this server)"}</legend>
          <label
            >conditions
            <select name="preset">
              ${c.presets.map((p) => html`<option value=${p} title=${c.network?.presets[p]?.description ?? ""}>${p}</option>`)}
            </select>
          </label>
          <button type="button" @click=${this.#applyPreset}>Apply</button>
          <button type="button" @click=${() => c.blackhole(true, this.target)} title="Stop forwarding, keep the sockets open: zombie connections">Black hole</button>
          <button type="button" @click=${() => c.blackhole(false, this.target)}>Lift black hole</button>
          <button type="button" @click=${() => c.cutNetwork("reset", this.target)} title="End the connections with an RST, as a dropped mobile link does">Cut (RST)</button>
        </fieldset>
        <fieldset ?disabled=${busy || c.status === null}>
          <legend>Server</legend>
          <button type="button" @click=${() => c.dropServer(this.target)} title="The server destroys the connections">Drop connections</button>
          <label>seconds <input type="number" name="seconds" min="1" max="30" value="5" /></label>
          <button type="button" @click=${() => c.refuse(this.#seconds())} title="Close the listening socket: new connections are refused">Refuse new</button>
          <button type="button" @click=${() => c.stall(this.#seconds())} title="Block the event loop: nothing moves, heartbeats included">Stall</button>
          <button type="button" @click=${() => c.restart(Math.min(this.#seconds(), 60))} ?disabled=${!c.status?.canRestart} title="Restart in place; history survives with the SQLite store">Restart</button>
        </fieldset>
        ${this.#instances(busy)}
      </form>
      <p class="status" role="status">
        ${facts.map((f) => html`<span class="fact ${f.calm ? "calm" : ""}">${f.text}</span>`)}
        <span class="said ${c.message?.kind ?? ""}" title=${c.message?.text ?? ""}>${c.busy ? `${c.busy}…` : (c.message?.text ?? "")}</span>
        <span class="where muted">${hasNetwork ? `panels connect through the emulator at ${this.feedUrl}` : "panels connect directly"}</span>
      </p>`;
  }

  /** Only for a cluster (--redis): one instance can die while the others serve its panels. */
  #instances(busy: boolean) {
    const cluster = this.controls?.instances;
    if (!cluster?.clustered) return html``;
    return html`<fieldset ?disabled=${busy}>
      <legend>Instances (${cluster.instances.length})</legend>
      <label
        >instance
        <select name="instance">
          ${cluster.instances.map((i) => html`<option value=${i.id}>${i.id} · pid ${i.pid}</option>`)}
        </select>
      </label>
      <button type="button" @click=${this.#kill} title="SIGKILL the instance: no goodbye, its panels fail over to another">Kill instance</button>
    </fieldset>`;
  }

  #kill(): void {
    const id = this.renderRoot.querySelector<HTMLSelectElement>("select[name=instance]")?.value;
    if (id) void this.controls?.killInstance(id);
  }

  #seconds(): number {
    const input = this.renderRoot.querySelector<HTMLInputElement>("input[name=seconds]");
    const value = Math.round(Number(input?.value ?? 5));
    return Math.min(Math.max(Number.isFinite(value) ? value : 5, 1), 30);
  }

  #applyPreset(): void {
    const preset = this.renderRoot.querySelector<HTMLSelectElement>("select[name=preset]")?.value ?? "none";
    void this.controls?.applyPreset(preset, this.target);
  }
}

customElements.define("wirelab-controls", WirelabControls);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-controls": WirelabControls;
  }
}
