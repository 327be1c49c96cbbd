import type { Command } from 'commander';
import { register as registerActions } from './actions';
import { register as registerAssess } from './assess';
import { register as registerAudit } from './audit';
import { register as registerCourses } from './courses';
import { register as registerCourseMove } from './course-move';
import { register as registerEnroll } from './enroll';
import { register as registerProtocol } from './protocol';
import { register as registerScore } from './score';
import { register as registerSafety } from './safety';
import { register as registerSimulate } from './simulate';
import { register as registerStatus } from './status';
import { register as registerStuck } from './stuck';
import { register as registerToken } from './token';
import { register as registerWebhooks } from './webhooks';

/** Every command group of `kap`. Add a group by importing its `register` here. */
export const commands: Array<(program: Command) => void> = [registerScore, registerProtocol, registerToken, registerEnroll, registerStatus, registerCourses, registerCourseMove, registerStuck, registerSafety, registerAssess, registerActions, registerAudit, registerWebhooks, registerSimulate];
