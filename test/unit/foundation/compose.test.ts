// Docker cannot run on the CI machines: check the compose file's shape instead, and let
// `docker-compose config` validate it where Debian's docker-compose is installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

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

test('only the API is published beyond loopback: Temporal, its Web UI and the mail catcher bind 127.0.0.1', () => {
  const published = Object.entries(services).flatMap(([name, svc]) => (svc.ports ?? []).map((p) => ({ name, p: String(p) })));
  expect(published.map((x) => x.name).sort()).toEqual(['kap-api', 'mail', 'temporal', 'temporal-ui']);
  for (const { name, p } of published) {
    if (name === 'kap-api') continue; // the dashboard and API, behind the operator's TLS proxy
    expect(`${name}: ${p}`).toMatch(new RegExp(`^${name}: 127\\.0\\.0\\.1:\\d+:\\d+$`));
  }
  // The engine's services need the payload keys in production, and say why they reach Temporal unauthenticated.
  for (const app of ['kap-migrate', 'kap-worker', 'kap-api']) {
    expect(services[app].environment?.PAYLOAD_KEYS).toMatch(/^\$\{PAYLOAD_KEYS:\?/);
    expect(services[app].environment?.TEMPORAL_ALLOW_UNAUTHENTICATED).toBe('true');
  }
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
});
