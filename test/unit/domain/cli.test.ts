// Spawns the real `./bin/kap` (tsx): a few cases only, each start costs about a second.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseProtocol } from '../../../src/domain';

const root = resolve(__dirname, '../../..');
const kap = (...args: string[]) => {
  const r = spawnSync(join(root, 'bin/kap'), args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('kap CLI', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'kap-cli-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('kap score phq9 prints total, band and flags', () => {
    const r = kap('score', 'phq9', '1,2,0,3,1,0,2,1,1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('PHQ-9 total: 11/27');
    expect(r.stdout).toContain('Band: Moderate');
    expect(r.stdout).toMatch(/CRITICAL item 9/);
  });

  test('kap score with invalid answers names each item on stderr and exits 2', () => {
    const r = kap('score', 'gad7', '1', '4', 'x', '1.5');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('item 2: out of range');
    expect(r.stderr).toContain('item 3: not a number');
    expect(r.stderr).toContain('item 4: not a whole number');
    expect(r.stderr).toContain('item 5: missing');
    expect(r.stderr).toContain('item 7: missing');
  });

  test('kap score cssrs --json accepts y/n/-', () => {
    const r = kap('score', 'cssrs', 'y,n,-,-,-,n', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ instrumentId: 'cssrs', risk: 'low', critical: false });
  });

  test('kap protocol validate: OK for the example, every problem with its path otherwise', () => {
    const example = join(root, 'protocols/examples/kap-office.json');
    expect(parseProtocol(JSON.parse(readFileSync(example, 'utf8'))).ok).toBe(true);
    const bad = JSON.parse(readFileSync(example, 'utf8'));
    bad.phases[2].steps[0].deadlineHours = 0;
    bad.phases[1].steps[0].owner = 'nurse';
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    const ok = kap('protocol', 'validate', example);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: kap-office v1/);
    const r = kap('protocol', 'validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('phases[2].steps[0].deadlineHours: must be > 0');
    expect(r.stderr).toContain('phases[1].steps[0].owner: must be one of');
  });
});
