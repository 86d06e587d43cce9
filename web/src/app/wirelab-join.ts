/** Pick a display name and a room; the app does the joining and tells this form how it went. */
import { LitElement, css, html } from "lit";
import { DEFAULT_ROOM, LIMITS, isRoomName } from "../protocol/index.js";
import { base } from "./theme.js";

export interface JoinDetail {
  name: string;
  room: string;
}

export class WirelabJoin extends LitElement {
  static override properties = {
    name: {},
    room: {},
    busy: { type: Boolean },
    error: {},
  };
  declare name: string;
  declare room: string;
  declare busy: boolean;
  declare error: string;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        max-width: 34rem;
        margin: 3rem auto;
      }
      form {
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 10px;
        padding: 1.5rem 1.75rem;
        box-shadow: var(--shadow);
        display: grid;
        gap: 1rem;
      }
      h2 {
        margin: 0;
        font-size: 1.4rem;
      }
      p {
        margin: 0;
      }
      label {
        display: grid;
        gap: 0.3rem;
        font-weight: 600;
      }
      label small {
        font-weight: 400;
      }
      input {
        font-size: 1.05rem;
      }
      .error {
        color: var(--error);
        min-height: 1.4em;
      }
      button {
        justify-self: start;
        font-size: 1.05rem;
        padding: 0.45rem 1.3rem;
      }
    `,
  ];

  constructor() {
    super();
    this.name = "";
    this.room = DEFAULT_ROOM;
    this.busy = false;
    this.error = "";
  }

  override firstUpdated(): void {
    this.renderRoot.querySelector<HTMLInputElement>("input[name=name]")?.focus();
  }

  override render() {
    return html`<form @submit=${this.#submit} novalidate>
      <h2>Join a room</h2>
      <p class="muted">Four clients join the room at once, one per transport, so you can watch the same chat arrive over each of them.</p>
      <label
        >Display name
        <input name="name" type="text" autocomplete="nickname" maxlength=${LIMITS.nameMaxLength} .value=${this.name} required />
      </label>
      <label
        >Room <small class="muted">lowercase letters, digits and dashes</small>
        <input name="room" type="text" autocomplete="off" maxlength="32" .value=${this.room} pattern="[a-z0-9\\-]{1,32}" required />
      </label>
      <p class="error" role="alert">${this.error}</p>
      <button class="primary" type="submit" ?disabled=${this.busy}>${this.busy ? "Joining…" : "Join"}</button>
    </form>`;
  }

  #submit(event: SubmitEvent): void {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = (form.elements.namedItem("name") as HTMLInputElement).value.trim();
    const room = (form.elements.namedItem("room") as HTMLInputElement).value.trim();
    if (!name) {
      this.error = "Pick a display name.";
      return;
    }
    if (!isRoomName(room)) {
      this.error = "A room name is 1–32 lowercase letters, digits or dashes.";
      return;
    }
    this.error = "";
    this.dispatchEvent(new CustomEvent<JoinDetail>("join", { detail: { name, room }, bubbles: true, composed: true }));
  }
}

customElements.define("wirelab-join", WirelabJoin);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-join": WirelabJoin;
  }
}
