import { append, h } from './dom.ts';
import { issuePlace, issueText, RefusedError } from './fhir-api.ts';

const STATUS_WORDS: Record<number, string> = {
  400: 'The server could not accept this',
  403: 'You are not allowed to do this',
  404: 'This was not found, or you may not see it',
  409: 'This step is not possible now',
  412: 'Someone changed this in the meantime; reload and try again',
  422: 'This does not meet the Kansas rules',
};

/** A refusal in words: what the server said, each issue with the place it points at. */
export function refusalView(err: unknown): HTMLElement {
  if (!(err instanceof RefusedError)) return h('div', { class: 'alert', role: 'alert' }, h('p', {}, (err as Error).message));
  const errors = err.issues.filter((i) => i.severity !== 'information' && i.severity !== 'warning');
  const shown = errors.length ? errors : err.issues;
  return h(
    'div',
    { class: 'alert', role: 'alert' },
    h('p', {}, h('strong', {}, `${STATUS_WORDS[err.status] ?? `The server refused (${err.status})`}.`)),
    h(
      'ul',
      { class: 'issues' },
      shown.map((issue) => {
        const place = issuePlace(issue);
        return h('li', {}, place ? h('span', {}, h('code', {}, place), ': ') : null, issueText(issue));
      }),
    ),
  );
}

/** Runs one write, says the outcome in the status region, and refreshes the screen when it worked. */
export async function runWrite(region: HTMLElement, write: () => Promise<string>, refresh: (notice: string) => void): Promise<boolean> {
  region.replaceChildren('Saving…');
  try {
    const message = await write();
    region.replaceChildren();
    append(region, [h('span', { class: 'notice' }, message)]);
    refresh(message);
    return true;
  } catch (err) {
    region.replaceChildren(refusalView(err));
    return false;
  }
}
