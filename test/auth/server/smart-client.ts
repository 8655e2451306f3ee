import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';

/**
 * A SMART app's side of the authorization code flow over real HTTP (fetch, redirects followed by
 * hand, cookies kept like a browser would), for the flow tests.
 */
export class Browser {
  private readonly cookies = new Map<string, string>();

  private remember(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(header) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.remember(response);
    return response;
  }

  /** Follows redirects until a page (200/4xx) or a redirect to `stopAt` (the app's redirect URI). */
  async follow(url: string, stopAt: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ url: string; response: Response }> {
    let response = await this.request(url, init);
    let current = url;
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops++) {
      current = new URL(response.headers.get('location') as string, current).href;
      if (current.startsWith(stopAt)) return { url: current, response };
      response = await this.request(current);
    }
    return { url: current, response };
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The `action` of the form whose button text is given (forms are simple: no nested quotes). */
export function formAction(html: string, origin: string): string {
  const match = /<form method="post" action="([^"]+)"/.exec(html);
  expect(match, 'a POST form on the page').toBeTruthy();
  return new URL((match as RegExpExecArray)[1].replace(/&amp;/g, '&'), origin).href;
}

export function radioValues(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`type="radio"[^>]*name="${name}" value="([^"]+)"`, 'g'))].map((match) => match[1]);
}
