// The domain library must bundle inside Temporal workflow code: no Node built-ins, no I/O modules.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

test('a workflow importing src/domain bundles without errors', async () => {
  // Inside the checkout (test-artifacts/ is git-ignored) so the bundler resolves @temporalio/workflow.
  const artifacts = resolve(__dirname, '../../../test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const dir = mkdtempSync(join(artifacts, 'domain-bundle-'));
  try {
    const domain = resolve(__dirname, '../../../src/domain');
    const file = join(dir, 'workflows.ts');
    writeFileSync(
      file,
      `import { getProtocol, planCourse, phq9, preDoseCheck } from ${JSON.stringify(domain)};
export async function domainProbe(): Promise<number> {
  const p = getProtocol('kap-office')!;
  return planCourse(p).length + phq9.score([0, 0, 0, 0, 0, 0, 0, 0, 0]).total + preDoseCheck(p, {}).reasons.length;
}
`,
    );
    const logs: string[] = [];
    const log = (...args: unknown[]) => logs.push(args.map(String).join(' '));
    const bundle = await bundleWorkflowCode({
      workflowsPath: file,
      logger: process.env.DEBUG_BUNDLE ? undefined : { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: log, error: log, log: () => undefined },
    });
    expect(bundle.code).toContain('domainProbe');
    expect(bundle.code).toContain('kap-office');
    expect(logs).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
