// `kap enroll`: add a client and enroll them in a course, or enroll an existing client (--client).
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';

interface EnrollOptions extends ApiOptions {
  client?: string;
  clinic?: string;
  given?: string;
  family?: string;
  email?: string;
  externalRef?: string;
  protocol: string;
  timeScale?: string;
}

export function register(program: Command): void {
  withApiOptions(
    program
      .command('enroll')
      .description('enroll a client in a course (creates the client unless --client is given)')
      .option('--client <id>', 'an existing client')
      .option('--clinic <id>', 'clinic of a new client')
      .option('--given <name>', 'given name of a new client')
      .option('--family <name>', 'family name of a new client')
      .option('--email <email>', 'email of a new client')
      .option('--external-ref <ref>', "the clinic's own id for the client (makes a repeat idempotent)")
      .option('--protocol <id>', 'protocol id (kap protocol list)', 'kap-office')
      .option('--time-scale <n>', 'protocol days per real day (demos and simulation)'),
  ).action(async (o: EnrollOptions) => {
    await run(
      o,
      async () => {
        let clientId = o.client;
        if (!clientId) {
          const missing = (['clinic', 'given', 'family', 'email'] as const).filter((k) => !o[k]);
          if (missing.length) throw new Error(`a new client needs ${missing.map((m) => `--${m}`).join(', ')} (or pass --client <id>)`);
          const c = await api<{ id: string }>(o, 'POST', '/api/clients', { clinicId: o.clinic, givenName: o.given, familyName: o.family, email: o.email, ...(o.externalRef ? { externalRef: o.externalRef } : {}) });
          clientId = c.id;
        }
        const course = await api<{ id: string; status: string; currentStep: string | null; workflowId: string }>(o, 'POST', `/api/clients/${encodeURIComponent(clientId)}/courses`, {
          protocolId: o.protocol,
          ...(o.timeScale ? { timeScale: Number(o.timeScale) } : {}),
        });
        return { clientId, course };
      },
      (v) => `client ${v.clientId}\ncourse ${v.course.id} (${v.course.status}${v.course.currentStep ? `, at ${v.course.currentStep}` : ''})`,
    );
  });
}
