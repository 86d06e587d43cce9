/**
 * Pick a display name and a room, and, for the instructor of a class server, give the instructor
 * key; the app does the joining and tells this form how it went. The key field stays folded away
 * behind "I am the instructor" (the instructor's link, `?instructor`, opens it) so students are
 * not asked for what they do not have.
 */
import { LitElement, css, html } from "lit";
import { DEFAULT_ROOM, LIMITS, isRoomName } from "../isomorphic/protocol/index.js";
import { base } from "./theme.js";

export interface JoinDetail {
  name: string;
  room: string;
  /** Given only by whoever ticked "I am the instructor"; sent once to create the session, never stored. */
  instructorKey?: string;
  /** The class code, when the server asks for one (learners only). */
  classCode?: string;
}

export class WirelabJoin extends LitElement {
  static override properties = {
    name: {},
    room: {},
    busy: { type: Boolean },
    error: {},
    instructor: { type: Boolean },
    classCode: { type: Boolean },
  };
  declare name: string;
  declare room: string;
  /** Is the instructor key field open? */
  declare instructor: boolean;
  /** Does the server ask learners for a class code? */
  declare classCode: boolean;
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
      label.toggle {
        display: flex;
        align-items: center;
        gap: 0.5rem;
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
    this.instructor = false;
    this.classCode = false;
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
      <label class="toggle"><input name="instructor" type="checkbox" .checked=${this.instructor} @change=${this.#toggleInstructor} /> I am the instructor</label>
      ${this.instructor
        ? html`<label
            >Instructor key <small class="muted">printed where the server was started</small>
            <input name="instructorKey" type="password" autocomplete="off" maxlength="200" required />
          </label>`
        : this.classCode
          ? html`<label
              >Class code <small class="muted">your instructor gives it</small>
              <input name="classCode" type="text" autocomplete="off" maxlength="64" required />
            </label>`
          : ""}
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
    const keyField = form.elements.namedItem("instructorKey") as HTMLInputElement | null;
    const instructorKey = this.instructor && keyField ? keyField.value : undefined;
    if (instructorKey === "") {
      this.error = "Give the instructor key, or untick \u201cI am the instructor\u201d to join as a learner.";
      keyField?.focus();
      return;
    }
    this.error = "";
    const codeField = form.elements.namedItem("classCode") as HTMLInputElement | null;
    const classCode = !this.instructor && codeField ? codeField.value.trim() : undefined;
    if (classCode === "") {
      this.error = "Give the class code your instructor gave you.";
      codeField?.focus();
      return;
    }
    const detail: JoinDetail = { name, room, ...(instructorKey !== undefined && { instructorKey }), ...(classCode !== undefined && { classCode }) };
    this.dispatchEvent(new CustomEvent<JoinDetail>("join", { detail, bubbles: true, composed: true }));
  }

  async #toggleInstructor(event: Event): Promise<void> {
    this.instructor = (event.currentTarget as HTMLInputElement).checked;
    if (!this.instructor) return;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>("input[name=instructorKey]")?.focus();
  }
}

customElements.define("wirelab-join", WirelabJoin);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-join": WirelabJoin;
  }
}
