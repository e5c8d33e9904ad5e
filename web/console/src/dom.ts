// DOM helpers. The console builds its DOM with createElement and textContent
// only: the CSP enforces Trusted Types ("trusted-types 'none'"), so innerHTML
// and friends would throw.

type Child = Node | string | number | null | undefined | false;
type Props = {
  class?: string;
  testid?: string;
  text?: string;
  hidden?: boolean;
  disabled?: boolean;
  checked?: boolean;
  value?: string;
  type?: string;
  id?: string;
  for?: string;
  title?: string;
  name?: string;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
  attrs?: Record<string, string>;
  data?: Record<string, string>;
};

/** h creates an element: h("button", { class: "small", testid: "x", on: { click } }, "Label"). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.testid) el.dataset.testid = props.testid;
  if (props.id) el.id = props.id;
  if (props.title) el.title = props.title;
  if (props.hidden) el.hidden = true;
  if (props.text !== undefined) el.textContent = props.text;
  const anyEl = el as unknown as Record<string, unknown>;
  for (const k of ["disabled", "checked", "value", "type", "name"] as const) {
    if (props[k] !== undefined) anyEl[k] = props[k];
  }
  if (props.for) (el as unknown as HTMLLabelElement).htmlFor = props.for;
  for (const [k, v] of Object.entries(props.attrs || {})) el.setAttribute(k, v);
  for (const [k, v] of Object.entries(props.data || {})) el.dataset[k] = v;
  for (const [k, fn] of Object.entries(props.on || {})) el.addEventListener(k, fn as EventListener);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
  return el;
}

/** $ finds the element with a data-testid (in root, default the document). */
export function $<T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`console: no element [data-testid="${id}"]`);
  return el;
}

let seq = 0;
/** uid returns a fresh element id (labels need one for their input). */
export const uid = (prefix: string) => `${prefix}-${++seq}`;

/** field is a label with its control. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement): DocumentFragment {
  if (!control.id) control.id = uid("f");
  const f = document.createDocumentFragment();
  f.append(h("label", { for: control.id, text: label }), control);
  return f;
}

/** select builds a <select> with options [value, label]. */
export function select(testid: string, options: [string, string][], value = ""): HTMLSelectElement {
  return h(
    "select",
    { testid },
    ...options.map(([v, l]) => {
      const o = h("option", { value: v, text: l });
      o.selected = v === value;
      return o;
    }),
  );
}

const thisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
const otherYear = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
/** when formats a timestamp briefly. */
export function when(s?: string): string {
  if (!s) return "";
  const d = new Date(s);
  return (d.getFullYear() === new Date().getFullYear() ? thisYear : otherYear).format(d);
}
