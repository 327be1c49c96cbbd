// Docker cannot run on the CI machines: check the compose file's shape instead, and let
// `docker-compose config` validate it where Debian's docker-compose is installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../../../src/config';
import { planMail } from '../../../src/mail/setup';

const root = path.join(__dirname, '../../..');
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; depends_on?: Record<string, { condition: string }>; environment?: Record<string, string>; command?: string[]; volumes?: string[]; ports?: string[] }>;
};
const services = compose.services;

test('every image is pinned to an exact version', () => {
  for (const [name, svc] of Object.entries(services)) {
    if (!svc.image) continue;
    if (svc.image === 'kap-pathways:local') continue; // built from ./Dockerfile
    expect(`${name}: ${svc.image}`).toMatch(/:v?\d+\.\d+(\.\d+)?$/);
  }
  expect(services.postgresql.image).toMatch(/^postgres:16\./);
});

test('admin-tools and the server run the same Temporal version', () => {
  const version = (img?: string) => img?.split(':')[1];
  expect(services.temporal.image).toMatch(/^temporalio\/server:/);
  expect(services['temporal-admin-tools'].image).toMatch(/^temporalio\/admin-tools:/);
  expect(version(services['temporal-admin-tools'].image)).toBe(version(services.temporal.image));
  expect(version(services['temporal-setup'].image)).toBe(version(services.temporal.image));
  expect(services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
});

test('services are wired: schema before server, migrations before worker and API', () => {
  expect(services.temporal.depends_on?.['temporal-admin-tools'].condition).toBe('service_completed_successfully');
  for (const app of ['kap-worker', 'kap-api']) {
    expect(services[app].depends_on?.['kap-migrate'].condition).toBe('service_completed_successfully');
    expect(services[app].depends_on?.['temporal-setup'].condition).toBe('service_completed_successfully');
    expect(services[app].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services[app].environment?.DATABASE_URL).toMatch(/@postgresql:5432\/kap$/);
    expect(services[app].environment?.SMTP_URL).toBe('smtp://mail:1025');
  }
  expect(services['kap-worker'].command).toEqual(['npm', 'run', 'worker']);
  expect(services['kap-api'].command).toEqual(['npm', 'run', 'api']);
  expect(services['kap-migrate'].command).toEqual(['npm', 'run', 'migrate']);
  expect(services['kap-migrate'].build).toBe('.');
  expect(fs.existsSync(path.join(root, 'Dockerfile'))).toBe(true);
});

test('every port is published on loopback only (the API too: the operator\'s TLS proxy on the host reaches it)', () => {
  const published = Object.entries(services).flatMap(([name, svc]) => (svc.ports ?? []).map((p) => ({ name, p: String(p) })));
  expect(published.map((x) => x.name).sort()).toEqual(['kap-api', 'mail', 'temporal', 'temporal-ui']);
  for (const { name, p } of published) expect(`${name}: ${p}`).toMatch(new RegExp(`^${name}: 127\\.0\\.0\\.1:\\d+:\\d+$`));
  // The engine's services say why they reach Temporal unauthenticated.
  for (const app of ['kap-migrate', 'kap-worker', 'kap-api']) expect(services[app].environment?.TEMPORAL_ALLOW_UNAUTHENTICATED).toBe('true');
});

// The engine's services: those that run this repository's image.
const engine = Object.entries(services).filter(([, svc]) => svc.image === 'kap-pathways:local' || svc.build !== undefined);

// What an operator puts in the environment or .env for `${NAME:?message}` (compose refuses to start without it).
const operatorEnv: Record<string, string> = { SECRET_KEY: 'o'.repeat(40), PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` };
const guarded = /^\$\{([A-Z_][A-Z0-9_]*):\?[^}]+\}$/;

/** A service's environment as compose would hand it to the container, with the operator's values. */
function containerEnv(env: Record<string, unknown>, operator: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(env)) {
    const v = String(raw);
    const m = guarded.exec(v);
    if (m) {
      if (operator[m[1]] !== undefined) out[k] = operator[m[1]];
      continue; // compose would refuse to start: no value reaches the container
    }
    out[k] = v;
  }
  return out;
}

function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

test('every engine service passes the config schema in production; secrets come only from the operator, behind `:?`', () => {
  expect(engine.map(([name]) => name).sort()).toEqual(['kap-api', 'kap-migrate', 'kap-worker']);
  for (const [name, svc] of engine) {
    const env = svc.environment ?? {};
    expect(`${name}: NODE_ENV=${env.NODE_ENV}`).toBe(`${name}: NODE_ENV=production`);
    // Any interpolation is the guarded form: no default (a key committed here) and no silent empty value.
    for (const [k, v] of Object.entries(env)) if (String(v).includes('${')) expect(`${name}.${k}: ${v}`).toMatch(new RegExp(`^${name}\\.${k}: \\$\\{${k}:\\?`));
    for (const secret of ['SECRET_KEY', 'PAYLOAD_KEYS']) expect({ name, secret, value: env[secret] }).toEqual({ name, secret, value: expect.stringMatching(guarded) });

    const full = containerEnv(env, operatorEnv);
    expect(`${name}: ${configProblems(full).join('; ')}`).toBe(`${name}: `);
    // Every variable the config requires in production is there: take any one away and the config refuses,
    // naming it; for the operator's variables compose itself refuses first.
    const required = Object.keys(full).filter((k) => configProblems({ ...full, [k]: '' }).length > 0);
    expect({ name, required }).toEqual({ name, required: expect.arrayContaining(['PAYLOAD_KEYS', 'SECRET_KEY', 'SMTP_URL', 'TEMPORAL_ALLOW_UNAUTHENTICATED']) });
    for (const k of Object.keys(operatorEnv)) {
      const without = containerEnv(env, { ...operatorEnv, [k]: undefined as unknown as string });
      expect(configProblems(without).some((p) => p.startsWith(`${k}: required in production`))).toBe(true);
    }
  }
});

test('production services never start the development mail sink: worker and API send through SMTP_URL', () => {
  for (const [name, svc] of engine) {
    const env = containerEnv(svc.environment ?? {}, operatorEnv);
    expect(env.SMTP_SINK_PORT).toBeUndefined();
    const config = loadConfig(env);
    expect(`${name}: embeddedSmtp=${config.embeddedSmtp}`).toBe(`${name}: embeddedSmtp=false`);
    // The split entry points need Temporal and the database from the compose network, and a relay for mail.
    expect(config.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(config.DATABASE_URL).toMatch(/@postgresql:5432\/kap$/);
    expect(planMail(config, 'worker')).toEqual({ kind: 'relay', url: 'smtp://mail:1025' });
  }
  // The mail catcher the relay points at is a service of this file.
  expect(services.mail.image).toMatch(/mailpit/);
});

test('the image runs the Node the engine declares (package.json engines)', () => {
  const engines = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node as string;
  const min = /^>=(\d+)\.(\d+)/.exec(engines);
  expect(min).not.toBeNull();
  const from = /^FROM node:(\d+)\.(\d+)-bookworm-slim$/m.exec(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  expect(from).not.toBeNull();
  expect(Number(from![1])).toBe(24); // the Node.js LTS line the engine runs on
  expect(Number(from![1]) * 1000 + Number(from![2])).toBeGreaterThanOrEqual(Number(min![1]) * 1000 + Number(min![2]));
});

test('the mounted setup scripts exist and register every search attribute the workflow uses', async () => {
  const { COURSE_SEARCH_ATTRIBUTES } = await import('../../../src/workflows/search-attributes');
  const script = fs.readFileSync(path.join(root, 'deploy/compose/setup-temporal-namespace.sh'), 'utf8');
  for (const [name, type] of Object.entries(COURSE_SEARCH_ATTRIBUTES)) expect(script).toContain(`${name}=${type}`);
  expect(fs.existsSync(path.join(root, 'deploy/compose/setup-temporal-schema.sh'))).toBe(true);
  expect(fs.existsSync(path.join(root, 'deploy/compose/init-kap-db.sql'))).toBe(true);
});

const dockerCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
const haveDockerCompose = dockerCompose.status === 0;

test(`docker-compose config accepts the file (${haveDockerCompose ? 'docker-compose installed' : 'docker-compose absent: structure checked above only'})`, () => {
  if (!haveDockerCompose) {
    expect(dockerCompose.error ?? dockerCompose.status).toBeTruthy();
    return;
  }
  const r = spawnSync('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config', '-q'], {
    encoding: 'utf8',
    env: { ...process.env, SECRET_KEY: 'x'.repeat(40), PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}` },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // Without the operator's PAYLOAD_KEYS compose refuses to start, naming it.
  const refused = spawnSync('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config', '-q'], {
    encoding: 'utf8',
    env: { ...process.env, SECRET_KEY: 'x'.repeat(40), PAYLOAD_KEYS: '' },
  });
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toMatch(/set PAYLOAD_KEYS/);
});
