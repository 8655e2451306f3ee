import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/**
 * The Content-Security-Policy of every HTML answer ($render, the sign-in pages, the authorization
 * server's error page): nothing is loaded or run — no script at all, styles only inline, images
 * only as data: URLs — and no other site may frame the page (a framed consent page could be
 * clicked through). Form targets are not restricted: the consent form's answer redirects to the
 * app's own redirect URI, which `form-action` would block in Chromium.
 * https://www.w3.org/TR/CSP3/ and the OWASP HTTP headers cheat sheet.
 */
export const HTML_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'";

/**
 * JSON and other non-HTML answers: a browser that renders one anyway (opened directly) may load
 * nothing from it, and it may not be framed.
 */
const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** One year, the usual HSTS lifetime (RFC 6797 §6.1.1); subdomains are the deployer's to opt in. */
const HSTS = 'max-age=31536000';

/** A client's X-Request-Id is kept when it is a short token (a UUID, a proxy's id); anything else is replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface ResponseHeaderSettings {
  /** Whether the public base URL is https, i.e. clients reach kanplan over TLS (at kanplan or a proxy). */
  readonly behindTls: boolean;
}

/** The request id of a request, set by `responseHeaders`. */
export function requestIdOf(req: Request): string {
  return (req as Request & { requestId?: string }).requestId ?? '-';
}

function isHtml(contentType: unknown): boolean {
  return typeof contentType === 'string' && /^\s*text\/html\b/i.test(contentType);
}

/**
 * First middleware of the app: every response — FHIR, /auth (oidc-provider's included), health,
 * errors — carries the request id and the security headers. The CSP is chosen when the headers are
 * sent, when the content type is known: a page that set its own CSP keeps it.
 */
export function responseHeaders(settings: ResponseHeaderSettings) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    (req as Request & { requestId?: string }).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (settings.behindTls) res.setHeader('Strict-Transport-Security', HSTS);
    // Node sends implicit headers through writeHead too, so this sees every response.
    const writeHead = res.writeHead;
    res.writeHead = function (this: Response, ...args: Parameters<typeof writeHead>) {
      if (!this.hasHeader('Content-Security-Policy')) {
        const inline = args.find((arg) => typeof arg === 'object' && arg !== null && !Array.isArray(arg)) as Record<string, unknown> | undefined;
        const contentType = this.getHeader('Content-Type') ?? inline?.['content-type'] ?? inline?.['Content-Type'];
        this.setHeader('Content-Security-Policy', isHtml(contentType) ? HTML_CONTENT_SECURITY_POLICY : API_CONTENT_SECURITY_POLICY);
      }
      return writeHead.apply(this, args);
    } as typeof writeHead;
    next();
  };
}
