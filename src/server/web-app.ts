import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { findRegisteredClient, registerClient, removeClient } from '../auth/server/clients.ts';
import { holdTransactionLock } from '../store/advisory-lock.ts';
import type { Database } from '../store/database.ts';

/**
 * The kanplan app (app/, built into app/dist by `npm install`/`npm start`) served as static files
 * at /app/ — no second server. The app is an ordinary SMART on FHIR client: it talks to the FHIR API
 * and the authorization server like any other app, and nothing in src/ depends on it.
 */
export const WEB_APP_PATH = '/app';
export const WEB_APP_CLIENT_ID = 'kanplan-app';
const APP_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../app/dist');

/** Where fhirclient sends the browser back to: the app's index.html on this server. */
export function webAppRedirectUri(fhirBaseUrl: string): string {
  return new URL(`${WEB_APP_PATH}/index.html`, fhirBaseUrl).href;
}

/**
 * The app's public client (PKCE), registered at every start with the redirect URI of this server's
 * public URL, kept beside the ones registered before (another port, another host name).
 */
export async function ensureWebAppClient(db: Database, fhirBaseUrl: string): Promise<void> {
  const redirectUri = webAppRedirectUri(fhirBaseUrl);
  await db.transaction(async (tx) => {
    // Processes started together take turns (else all but one failed at start: "registered
    // already"), and the client is never missing between the removal and the new registration.
    await holdTransactionLock(tx, 'kanplan:web-app-client');
    const existing = await findRegisteredClient(tx, WEB_APP_CLIENT_ID);
    if (existing?.redirectUris.includes(redirectUri)) return;
    if (existing) await removeClient(tx, WEB_APP_CLIENT_ID);
    await registerClient(tx, { type: 'public', clientId: WEB_APP_CLIENT_ID, name: 'kanplan care plans', redirectUris: [...(existing?.redirectUris ?? []), redirectUri] });
  });
}

/** The static files, revalidated on each load (a new build is picked up at once), not framable. */
export function webAppRouter(): express.Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // connect-src allows another FHIR server (the `iss` of an EHR launch); scripts and styles only from here.
    res.setHeader('Content-Security-Policy', "default-src 'self'; connect-src 'self' https: http:; frame-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'; form-action 'self'");
    next();
  });
  router.use(express.static(APP_DIST, { index: 'index.html', redirect: true }));
  router.use((_req, res) => {
    const built = fs.existsSync(path.join(APP_DIST, 'index.html'));
    res.status(404).type('text/plain').send(built ? 'Not found in the kanplan app.' : 'The kanplan app is not built: run `npm run app:build` (npm install and npm start build it too).');
  });
  return router;
}
