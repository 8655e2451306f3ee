import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('configuration', () => {
  test('defaults serve the embedded database on port 8080 under /fhir', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.baseUrl).toBe('http://localhost:8080/fhir');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.maxBodyBytes).toBe(16 * 1024 * 1024);
    expect(config.defaultPageSize).toBe(20);
    expect(config.maxPageSize).toBe(1000);
    expect(config.planReviewIntervalMonths).toBe(12);
    expect(config.embeddedSharedBuffersBytes).toBe(32 * 1024 * 1024);
  });

  test('EMBEDDED_SHARED_BUFFERS takes a size', () => {
    expect(loadConfig({ EMBEDDED_SHARED_BUFFERS: '64mb' }).embeddedSharedBuffersBytes).toBe(64 * 1024 * 1024);
  });

  test('reads sizes with units and strips a trailing slash from BASE_URL', () => {
    const config = loadConfig({ MAX_BODY_SIZE: '512kb', BASE_URL: 'https://plans.example.org/fhir/', PORT: '9000' });
    expect(config.maxBodyBytes).toBe(512 * 1024);
    expect(config.baseUrl).toBe('https://plans.example.org/fhir');
    expect(config.port).toBe(9000);
  });

  test.each([
    [{ PORT: 'eighty' }, 'PORT=eighty is not valid'],
    [{ PORT: '70000' }, 'PORT=70000 is not valid'],
    [{ MAX_BODY_SIZE: 'lots' }, 'MAX_BODY_SIZE=lots is not valid'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must start with postgres://'],
    [{ BASE_URL: 'not a url' }, 'BASE_URL=not a url is not a valid absolute URL'],
    [{ DEFAULT_PAGE_SIZE: '50', MAX_PAGE_SIZE: '10' }, 'must not exceed MAX_PAGE_SIZE'],
    [{ LOAD_DEMO_DATA: 'maybe' }, 'LOAD_DEMO_DATA=maybe is not valid'],
    [{ EMBEDDED_SHARED_BUFFERS: '64kb' }, 'EMBEDDED_SHARED_BUFFERS=64kb is too small'],
    // 42 CFR 441.301(c)(3): at least every 12 months, so a longer interval is refused.
    [{ PLAN_REVIEW_INTERVAL_MONTHS: '13' }, 'PLAN_REVIEW_INTERVAL_MONTHS=13 is not valid'],
  ])('rejects %j with a message naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('AUTH_MODE=off is refused in production, naming the setting and what to do', () => {
    const env = { AUTH_MODE: 'off', NODE_ENV: 'production' };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/AUTH_MODE=off is refused when NODE_ENV=production/);
    // The same holds when the auth settings come from code (a test or an embedding) rather than the environment.
    expect(() => loadConfig({ NODE_ENV: 'production' }, { auth: { ...loadConfig({}).auth, mode: 'off' } })).toThrow(ConfigError);
  });

  test('AUTH_MODE=off is accepted outside production (the server warns at start)', () => {
    expect(loadConfig({ AUTH_MODE: 'off' }).auth.mode).toBe('off');
    expect(loadConfig({ AUTH_MODE: 'off', NODE_ENV: 'development' }).auth.mode).toBe('off');
    expect(loadConfig({ NODE_ENV: 'production' }).auth.mode).toBe('jwt');
  });

  test('CORS: unset means the registered clients\' origins; a list is normalized; * stands alone', () => {
    expect(loadConfig({}).cors).toEqual({ origins: undefined, allowCredentials: false });
    expect(loadConfig({ CORS_ORIGINS: 'https://App.Example.org, http://localhost:3000,https://x.example.org:443' }).cors.origins).toEqual([
      'https://app.example.org',
      'http://localhost:3000',
      'https://x.example.org',
    ]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).cors.origins).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.org', CORS_ALLOW_CREDENTIALS: 'true' }).cors.allowCredentials).toBe(true);
  });

  test.each([
    [{ CORS_ORIGINS: 'https://app.example.org/launch' }, 'CORS_ORIGINS entry "https://app.example.org/launch" is not an origin'],
    [{ CORS_ORIGINS: 'https://app.example.org/' }, 'is not an origin'],
    [{ CORS_ORIGINS: 'app.example.org' }, 'is not an origin'],
    [{ CORS_ORIGINS: 'https://a.example.org,*' }, 'is not an origin'],
    [{ CORS_ORIGINS: '*', CORS_ALLOW_CREDENTIALS: 'true' }, 'CORS_ORIGINS=* cannot be combined with CORS_ALLOW_CREDENTIALS=true'],
  ])('rejects CORS settings %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
