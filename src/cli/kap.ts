#!/usr/bin/env node
// `kap`: the command line for clinicians, coordinators and integrators.
// Each command group lives in src/cli/commands/<group>.ts and exports `register(program)`.
import { Command, CommanderError } from 'commander';
import { commands } from './commands';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('kap')
    .description('KAP care-pathway engine: score instruments, inspect protocols, drive courses')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`kap: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
