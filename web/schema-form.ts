/**
 * A form for a job kind's settings, made from their JSON Schema (GET /kinds), so that a kind the
 * server adds appears here without changing the studio: strings as text (long ones as a text
 * area), numbers with their limits and defaults, enums as selects, booleans as checkboxes, and
 * upload fields as file pickers that POST /uploads and put the returned id in the setting.
 * The checks here only help the user; the server checks everything again and its answer (which
 * names the field) is shown on the field too.
 */
import { apiJson, type Kind, type Schema } from "./api.ts";

export interface SettingsForm {
  /** The settings to submit (blank optional fields left out), or null after marking problems. */
  values(): Promise<Record<string, unknown> | null>;
  /** Shows the server's issues ("settings.width") on their fields; false if none matched. */
  markIssues(issues: { field: string; message: string }[]): boolean;
}

/**
 * Upload fields: the server marks them with "x-upload", the content types they take. Returns
 * those, or null for other fields.
 */
export function uploadTypes(s: Schema): string[] | null {
  return s["x-upload"] ?? null;
}

function typeOf(s: Schema): string {
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types.find((t) => t && t !== "null") ?? "string";
}

/** "16 to 512, default 64" and the like, for a field's hint. */
function limitsText(s: Schema): string {
  const parts: string[] = [];
  const lo =
    s.minimum !== undefined
      ? `${s.minimum}`
      : s.exclusiveMinimum !== undefined
        ? `more than ${s.exclusiveMinimum}`
        : null;
  const hi =
    s.maximum !== undefined
      ? `${s.maximum}`
      : s.exclusiveMaximum !== undefined
        ? `less than ${s.exclusiveMaximum}`
        : null;
  if (lo && hi) parts.push(`${lo} to ${hi}`);
  else if (lo) parts.push(`at least ${lo}`);
  else if (hi) parts.push(`at most ${hi}`);
  if (s.maxLength !== undefined) parts.push(`up to ${s.maxLength} characters`);
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(", ");
}

interface Field {
  name: string;
  schema: Schema;
  required: boolean;
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
  /** For an upload field: the id of the uploaded file, once its upload has finished. */
  upload?: { id: string | null; pending: Promise<void> | null };
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), props);
}

/** Fills `container` with the settings of `kind` (replacing what was there). */
export function buildSettingsForm(container: HTMLElement, kind: Kind): SettingsForm {
  for (const old of Array.from(container.querySelectorAll(":scope > :not(legend)"))) old.remove();
  const required = new Set(kind.settings.required ?? []);
  const fields: Field[] = [];
  for (const [name, schema] of Object.entries(kind.settings.properties ?? {})) {
    fields.push(addField(container, name, schema, required.has(name)));
  }
  if (fields.length === 0) container.append(make("p", { className: "hint", textContent: "none" }));

  const setError = (f: Field, message: string | null) => {
    f.error.textContent = message ?? "";
    f.error.hidden = message === null;
    if (message === null) f.control.removeAttribute("aria-invalid");
    else f.control.setAttribute("aria-invalid", "true");
  };

  return {
    async values() {
      await Promise.all(fields.map((f) => f.upload?.pending));
      const out: Record<string, unknown> = {};
      let first: Field | null = null;
      for (const f of fields) {
        const result = readField(f);
        setError(f, result.problem ?? null);
        if (result.problem) first ??= f;
        else if (result.value !== undefined) out[f.name] = result.value;
      }
      first?.control.focus();
      return first ? null : out;
    },
    markIssues(issues) {
      let any = false;
      for (const f of fields) {
        const issue = issues.find((i) => i.field === `settings.${f.name}`);
        setError(f, issue?.message ?? null);
        if (issue && !any) f.control.focus();
        any ||= issue !== undefined;
      }
      return any;
    },
  };
}

function addField(container: HTMLElement, name: string, s: Schema, required: boolean): Field {
  const id = `setting-${name}`;
  const label = make("label", { htmlFor: id, textContent: required ? `${name} (required)` : name });
  const hintText = [s.description, limitsText(s)].filter(Boolean).join(" — ");
  const hint = make("p", { id: `${id}-hint`, className: "hint", textContent: hintText });
  const error = make("p", { id: `${id}-error`, className: "error", hidden: true });
  error.setAttribute("role", "alert");
  const accepts = uploadTypes(s);
  const type = typeOf(s);
  let control: Field["control"];
  let upload: Field["upload"];
  let status: HTMLElement | null = null;

  if (accepts) {
    const input = make("input", { type: "file", required });
    if (accepts.length > 0) input.accept = accepts.join(",");
    status = make("p", { id: `${id}-status`, className: "hint" });
    status.setAttribute("aria-live", "polite");
    const state: NonNullable<Field["upload"]> = { id: null, pending: null };
    const shown = status;
    input.addEventListener("change", () => {
      state.id = null;
      const file = input.files?.[0];
      if (!file) {
        shown.textContent = "";
        return;
      }
      if (accepts.length > 0 && !accepts.includes(file.type)) {
        shown.textContent = `${file.name} is ${file.type || "of an unknown type"}; this field takes ${accepts.join(" or ")}`;
        return;
      }
      shown.textContent = `Uploading ${file.name}…`;
      state.pending = apiJson<{ id: string }>("/uploads", {
        method: "POST",
        headers: { "Content-Type": file.type },
        body: file,
      })
        .then((r) => {
          state.id = r.id;
          shown.textContent = `Uploaded ${file.name} (${r.id})`;
        })
        .catch((err: Error) => {
          shown.textContent = `Upload of ${file.name} failed: ${err.message}`;
        })
        .finally(() => {
          state.pending = null;
        });
    });
    control = input;
    upload = state;
  } else if (s.enum) {
    const select = make("select", { required });
    if (!required && s.default === undefined) {
      select.append(make("option", { value: "", textContent: "(not set)" }));
    }
    for (const v of s.enum) {
      const option = make("option", { value: String(v), textContent: String(v) });
      option.selected = v === s.default;
      select.append(option);
    }
    control = select;
  } else if (type === "boolean") {
    control = make("input", { type: "checkbox", checked: s.default === true });
  } else if (type === "number" || type === "integer") {
    const input = make("input", { type: "number", required });
    input.step = type === "integer" ? "1" : "any";
    input.inputMode = type === "integer" ? "numeric" : "decimal";
    const lo = s.minimum ?? s.exclusiveMinimum;
    const hi = s.maximum ?? s.exclusiveMaximum;
    if (lo !== undefined) input.min = String(lo);
    if (hi !== undefined) input.max = String(hi);
    if (typeof s.default === "number") input.value = String(s.default);
    control = input;
  } else {
    const long = (s.maxLength ?? 0) > 200;
    const input = long ? make("textarea", { rows: 3 }) : make("input", { type: "text" });
    input.required = required;
    if (s.maxLength !== undefined) input.maxLength = s.maxLength;
    if (typeof s.default === "string") input.value = s.default;
    control = input;
  }
  control.id = id;
  control.name = name;
  const described = [hintText ? hint.id : null, status?.id, error.id].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  const row = make("div", { className: "field" });
  row.append(label, control, ...(status ? [status] : []), ...(hintText ? [hint] : []), error);
  container.append(row);
  return { name, schema: s, required, control, error, upload };
}

/** The value of a field as the API takes it, or the problem with it. */
function readField(f: Field): { value?: unknown; problem?: string } {
  const s = f.schema;
  if (f.upload) {
    if (f.upload.id) return { value: f.upload.id };
    const chosen = (f.control as HTMLInputElement).files?.length;
    if (chosen) return { problem: "the file is not uploaded (see above)" };
    return f.required ? { problem: "choose a file" } : {};
  }
  if (f.control instanceof HTMLInputElement && f.control.type === "checkbox") {
    return { value: f.control.checked };
  }
  const raw = f.control.value;
  if (raw.trim() === "") return f.required ? { problem: "this setting is required" } : {};
  if (s.enum) {
    const v = s.enum.find((e) => String(e) === raw);
    return v === undefined ? { problem: "choose one of the list" } : { value: v };
  }
  const type = typeOf(s);
  if (type === "number" || type === "integer") {
    const n = Number(raw);
    if (!Number.isFinite(n)) return { problem: `${raw} is not a number` };
    if (type === "integer" && !Number.isInteger(n)) return { problem: "a whole number, please" };
    const bad =
      (s.minimum !== undefined && n < s.minimum) ||
      (s.maximum !== undefined && n > s.maximum) ||
      (s.exclusiveMinimum !== undefined && n <= s.exclusiveMinimum) ||
      (s.exclusiveMaximum !== undefined && n >= s.exclusiveMaximum);
    return bad ? { problem: `out of range (${limitsText(s)})` } : { value: n };
  }
  if (s.minLength !== undefined && raw.trim().length < s.minLength) {
    return { problem: `at least ${s.minLength} characters` };
  }
  return { value: raw };
}
