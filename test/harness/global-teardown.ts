import fs from 'node:fs';
import { state } from './state';

export default async function globalTeardown(): Promise<void> {
  await state.temporal?.stop();
  await state.embedded?.stop();
  await state.dropDatabase?.();
  if (state.tmpDir) fs.rmSync(state.tmpDir, { recursive: true, force: true });
}
