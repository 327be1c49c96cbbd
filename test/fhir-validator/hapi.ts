// Runs the HAPI FHIR R4 validator (Validate.java over the jars of pom.xml) on a set of resources in ONE
// JVM (its start and the loading of the R4 core definitions take most of the time). The jars are
// fetched once by install.sh into .tools/fhir-validator/lib; when they are missing and cannot be
// fetched this throws, so a test using it fails instead of skipping.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HERE = __dirname;
const LIB = path.resolve(HERE, '../../.tools/fhir-validator/lib');

export interface HapiMessage {
  file: string;
  severity: 'fatal' | 'error' | 'warning';
  location: string | null;
  message: string;
}

export function ensureHapiValidator(): void {
  execFileSync('bash', [path.join(HERE, 'install.sh')], { stdio: ['ignore', 'inherit', 'pipe'], timeout: 15 * 60_000 });
  if (!fs.existsSync(LIB) || !fs.readdirSync(LIB).some((f) => /^hapi-fhir-validation-\d/.test(f))) throw new Error(`HAPI FHIR validator jars missing in ${LIB}`);
}

/** Validates each resource (named for the messages) and returns every warning and error. */
export function hapiValidate(resources: Record<string, unknown>): HapiMessage[] {
  ensureHapiValidator();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-fhir-'));
  try {
    const files = Object.entries(resources).map(([name, r]) => {
      const f = path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
      fs.writeFileSync(f, JSON.stringify(r));
      return f;
    });
    const out = execFileSync('java', ['-Xss4m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${LIB}/*`, path.join(HERE, 'Validate.java'), ...files], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 170_000,
    });
    const parsed = JSON.parse(out.trim().split('\n').pop()!) as { files: number; messages: HapiMessage[] };
    if (parsed.files !== files.length) throw new Error(`validator read ${parsed.files} of ${files.length} files`);
    return parsed.messages.map((m) => ({ ...m, file: path.basename(m.file, '.json') }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const hapiErrors = (ms: HapiMessage[]) => ms.filter((m) => m.severity === 'error' || m.severity === 'fatal');
