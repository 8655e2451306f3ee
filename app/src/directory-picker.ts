import type { Organization } from '@medplum/fhirtypes';
import { field, h } from './dom.ts';
import type { FhirApi } from './fhir-api.ts';
import { KS } from './kansas.ts';
import { refusalView } from './write-feedback.ts';

/** An organization as the pick-list offers it. */
interface Listed {
  readonly reference: string;
  readonly name: string;
}

function listed(organizations: Organization[]): Listed[] {
  return organizations.filter((o) => o.id).map((o) => ({ reference: `Organization/${o.id}`, name: o.name ?? `Organization ${o.id}` }));
}

/**
 * A pick-list of organizations from the server's directory, instead of typing an id: the
 * organizations of the Kansas organization types asked for (CodeSystem ks-organization-type: `dcf`
 * and `kdads` receive ANE reports, `hcbs-provider-agency` referrals), all organizations when none
 * carries such a type, and a search by part of the name (Organization `name:contains`) to narrow a
 * long directory. The value is the chosen `Organization/<id>`; the select is the labelled,
 * required control, so the form's own check names it when nothing is chosen.
 */
export function directoryPicker(api: FhirApi, options: { name: string; label: string; hint: string; organizationTypes: readonly string[] }): HTMLElement {
  const select = h('select', { name: options.name, required: true }, h('option', { value: '' }, 'Loading the directory…')) as HTMLSelectElement;
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const finder = h('input', { name: `${options.name}-find`, type: 'search', autocomplete: 'off' }) as HTMLInputElement;
  const types = options.organizationTypes.map((code) => `${KS.organizationType}|${code}`).join(',');
  let typed = true;

  const load = async (name: string): Promise<void> => {
    const byName = name ? `&name:contains=${encodeURIComponent(name)}` : '';
    try {
      let found = typed ? await api.search<Organization>(`Organization?type=${encodeURIComponent(types)}${byName}&_sort=name&_count=100`) : [];
      if (!found.length) {
        // A directory whose organizations carry no Kansas type offers every organization; a name
        // not among those of the type is looked for in the whole directory.
        if (!name) typed = false;
        found = await api.search<Organization>(`Organization?_sort=name&_count=100${byName}`);
      }
      const choices = listed(found);
      select.replaceChildren(h('option', { value: '' }, choices.length ? 'Choose…' : 'Nothing found'), ...choices.map((c) => h('option', { value: c.reference }, c.name)));
      if (choices.length === 1) select.value = choices[0]?.reference ?? '';
      count.replaceChildren(`${choices.length} ${choices.length === 1 ? 'organization' : 'organizations'} listed${name ? ` for "${name}"` : ''}.`);
    } catch (err) {
      select.replaceChildren(h('option', { value: '' }, 'The directory could not be read'));
      count.replaceChildren(refusalView(err));
    }
  };
  void load('');

  const find = (): void => {
    void load(finder.value.trim());
  };
  finder.addEventListener('keydown', (event) => {
    // Enter searches the directory rather than sending the form around it.
    if (event.key === 'Enter') {
      event.preventDefault();
      find();
    }
  });
  return h(
    'div',
    { class: 'directory' },
    field(options.label, select, options.hint),
    field('Search the directory by name', finder),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: find }, 'Find')),
    count,
  );
}
