/** One composer for the room: the learner picks the transport a message goes out over. */
import { LitElement, css, html } from "lit";
import { LIMITS, TRANSPORTS, type TransportName } from "../isomorphic/protocol/index.js";
import type { Workbench } from "../viewmodels/Workbench.js";
import { formatMs } from "../viewmodels/format.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base, transportChoice } from "./theme.js";

type Outcome = { kind: "idle" } | { kind: "sending" } | { kind: "sent"; text: string } | { kind: "failed"; text: string };

export class WirelabComposer extends LitElement {
  static override properties = {
    workbench: { attribute: false },
    via: { state: true },
    outcome: { state: true },
  };
  declare workbench: Workbench | undefined;
  declare via: TransportName;
  declare outcome: Outcome;

  static override styles = [
    base,
    transportChoice,
    css`
      :host {
        display: block;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 1rem;
      }
      fieldset {
        display: flex;
        flex-wrap: wrap;
        gap: 0.2rem;
        border: none;
        margin: 0;
        padding: 0;
      }
      legend {
        float: left;
        margin-right: 0.5rem;
        padding: 0.3rem 0;
        font-weight: 600;
      }
      .message {
        display: flex;
        flex: 1 1 22rem;
        gap: 0.5rem;
      }
      .message input {
        flex: 1;
        min-width: 0;
      }
      .outcome {
        flex-basis: 100%;
        margin: 0;
        min-height: 1.4em;
        font-size: 0.9em;
        /* One line, always: a long error must not push the panels down. */
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .outcome.failed {
        color: var(--error);
      }
    `,
  ];

  constructor() {
    super();
    this.workbench = undefined;
    this.via = "websocket";
    this.outcome = { kind: "idle" };
  }

  /** Put the caret in the message box. */
  override focus(): void {
    this.renderRoot.querySelector<HTMLInputElement>("input[name=text]")?.focus();
  }

  override render() {
    return html`<form @submit=${this.#submit} aria-label="send a chat message">
      <fieldset>
        <legend>Send over</legend>
        ${TRANSPORTS.map(
          (t) => html`<label class="choice" style=${`--choice-color:${TRANSPORT_LOOK[t].color}`}>
            <input type="radio" name="via" .value=${t} .checked=${this.via === t} @change=${() => (this.via = t)} />${TRANSPORT_LOOK[t].label}
          </label>`,
        )}
      </fieldset>
      <div class="message">
        <label class="visually-hidden" for="text">Message</label>
        <input id="text" name="text" type="text" autocomplete="off" maxlength=${LIMITS.textMaxLength} placeholder="Say something to the room…" required />
        <button class="primary" type="submit" ?disabled=${this.outcome.kind === "sending"}>Send</button>
      </div>
      <p class="outcome ${this.outcome.kind}" role="status" title=${this.#describe()}>${this.#describe()}</p>
    </form>`;
  }

  #describe(): string {
    switch (this.outcome.kind) {
      case "idle":
        return "Every panel should show the message arrive, each over its own transport.";
      case "sending":
        return `Sending over ${TRANSPORT_LOOK[this.via].label}…`;
      case "sent":
      case "failed":
        return this.outcome.text;
    }
  }

  async #submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const workbench = this.workbench;
    const input = this.renderRoot.querySelector<HTMLInputElement>("input[name=text]")!;
    const text = input.value;
    if (!workbench || text.trim() === "" || this.outcome.kind === "sending") return;
    const via = this.via;
    const started = performance.now();
    this.outcome = { kind: "sending" };
    try {
      const ack = await workbench.send(via, text);
      input.value = "";
      this.outcome = { kind: "sent", text: `Sent as #${ack.seq} over ${TRANSPORT_LOOK[via].label}; acknowledged in ${formatMs(performance.now() - started)}.` };
    } catch (error) {
      this.outcome = { kind: "failed", text: `Not sent over ${TRANSPORT_LOOK[via].label}: ${error instanceof Error ? error.message : String(error)}` };
    }
    input.focus();
  }
}

customElements.define("wirelab-composer", WirelabComposer);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-composer": WirelabComposer;
  }
}
