import type { Command } from 'commander';
import { register as registerProtocol } from './protocol';
import { register as registerScore } from './score';

/** Every command group of `kap`. Add a group by importing its `register` here. */
export const commands: Array<(program: Command) => void> = [registerScore, registerProtocol];
