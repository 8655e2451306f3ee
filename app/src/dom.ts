/** A tiny element builder: the whole "framework" of the app (see README, "The app"). */
type Child = Node | string | number | false | null | undefined;
type Attributes = Record<string, string | boolean | number | undefined | ((event: Event) => void)>;

export function h(tag: string, attributes: Attributes = {}, ...children: (Child | Child[])[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces the main region and moves focus to its heading, so screen readers announce the new screen. */
export function show(title: string, ...children: (Child | Child[])[]): HTMLElement {
  const main = document.getElementById('main') as HTMLElement;
  main.replaceChildren();
  const heading = h('h1', { tabindex: '-1' }, title);
  append(main, [heading, ...children]);
  document.title = `${title} – kanplan care plans`;
  heading.focus();
  return main;
}

export function formValue(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/** A labelled field: the label names the control for screen readers (WCAG 1.3.1, 4.1.2). */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', {}, h('label', { for: id }, label), hint ? h('p', { id: hintId, class: 'muted' }, hint) : null, control);
}

export function formatDate(value: string | undefined): string {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return value.length <= 10 ? date.toLocaleDateString(undefined, { timeZone: 'UTC', dateStyle: 'medium' }) : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
