import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config';

describe('configuration', () => {
  test('no configuration at all gives the embedded defaults', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.TEMPORAL_UI_PORT).toBe(8233);
    expect(c.embeddedTemporal).toBe(true);
    expect(c.embeddedDatabase).toBe(true);
    expect(c.embeddedSmtp).toBe(true);
    expect(c.publicUrl).toBe('http://127.0.0.1:3000');
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('external services are used when their settings are given', () => {
    const c = loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233', DATABASE_URL: 'postgresql://u:p@db/kap', SMTP_URL: 'smtp://mail:25', PORT: '8080' });
    expect(c.embeddedTemporal).toBe(false);
    expect(c.embeddedDatabase).toBe(false);
    expect(c.embeddedSmtp).toBe(false);
    expect(c.PORT).toBe(8080);
  });

  test('empty strings count as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).embeddedDatabase).toBe(true);
  });

  test('every bad value is reported together, each with its variable', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', SECRET_KEY: 'short' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.map((p) => p.split(':')[0]).sort();
    expect(problems).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'SECRET_KEY', 'TEMPORAL_ADDRESS']);
  });

  test('production requires a secret key', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRET_KEY: required in production/);
  });

  test('production requires a mail relay: the embedded sink delivers nothing', () => {
    const prod = { NODE_ENV: 'production', SECRET_KEY: 's'.repeat(40), PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}` };
    expect(() => loadConfig(prod)).toThrow(/SMTP_URL: required in production/);
    const c = loadConfig({ ...prod, SMTP_URL: 'smtp://mail.internal:587' });
    expect(c.embeddedSmtp).toBe(false);
  });

  test('an entry point exits with code 2 and lists the problems', () => {
    const tsx = path.join(__dirname, '../../../node_modules/.bin/tsx');
    const r = spawnSync(tsx, [path.join(__dirname, '../../../src/main.ts')], {
      env: { ...process.env, PORT: '99999', TEMPORAL_ADDRESS: 'bad address' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/PORT:/);
    expect(r.stderr).toMatch(/TEMPORAL_ADDRESS: must be host:port/);
  });
});
