// `kap score <instrument> <answers...> [--json]`: score an instrument from the command line.
import type { Command } from 'commander';
import { createPcl5, getInstrument, InvalidAnswersError, listInstruments, type Instrument, type ScoreResult } from '../../domain';

/** "1,2,0 3" and "1 2 0 3" both work; for yes/no instruments y/n and "-" (skipped). */
export function parseAnswers(instrument: Instrument, args: readonly string[]): unknown[] {
  const tokens = args.join(',').split(/[\s,]+/).filter((t) => t !== '');
  return tokens.map((t) => {
    if (t === '-' || t === '_') return null;
    if (instrument.answerKind === 'yes-no') {
      const v = t.toLowerCase();
      if (['y', 'yes', 'true', '1'].includes(v)) return true;
      if (['n', 'no', 'false', '0'].includes(v)) return false;
      return t;
    }
    return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
  });
}

export function formatResult(instrument: Instrument, r: ScoreResult): string {
  const lines: string[] = [];
  if (r.instrumentId === 'cssrs') {
    const c = r as ScoreResult & { triggeredBy: Array<number | string> };
    lines.push(`${instrument.shortName}: ${r.bandLabel}${c.triggeredBy.length ? ` (item ${c.triggeredBy.join(', ')})` : ''}`);
  } else {
    lines.push(`${instrument.shortName} total: ${r.total}/${r.maxTotal}`);
    lines.push(`Band: ${r.bandLabel}`);
  }
  if (r.instrumentId === 'pcl5') {
    const p = r as ScoreResult & { dsm5CriteriaMet: boolean; clusters: Record<string, { endorsed: number; required: number }> };
    const clusters = Object.entries(p.clusters).map(([k, c]) => `${k} ${c.endorsed}/${c.required}`).join(', ');
    lines.push(`DSM-5 cluster rule: ${p.dsm5CriteriaMet ? 'met' : 'not met'} (${clusters})`);
  }
  if (r.flags.length === 0) lines.push('Flags: none');
  else {
    lines.push('Flags:');
    for (const f of r.flags) lines.push(`  ${f.severity.toUpperCase()}${f.item !== undefined ? ` item ${f.item}` : ''}: ${f.message}`);
  }
  if (r.critical) lines.push('CRITICAL: alert a clinician now.');
  return lines.join('\n');
}

export function register(program: Command): void {
  const ids = listInstruments().map((i) => i.id).join(', ');
  program
    .command('score')
    .description(`score an instrument (${ids}); answers in item order, comma- or space-separated`)
    .argument('<instrument>', `instrument id: ${ids}`)
    .argument('<answers...>', 'answers, e.g. 1,2,0,3,1,0,2,1,0 (for cssrs: y,n,-,-,-,n)')
    .option('--json', 'print the full result as JSON')
    .option('--cutoff <n>', 'PCL-5 provisional PTSD cut-off (default 33)', (v) => Number(v))
    .addHelpText('after', '\nExamples:\n  kap score phq9 1,2,0,3,1,0,2,1,0\n  kap score gad7 1 1 2 0 1 0 0 --json\n  kap score cssrs y,n,-,-,-,n')
    .action((id: string, args: string[], opts: { json?: boolean; cutoff?: number }) => {
      let instrument = getInstrument(id);
      if (!instrument) {
        process.stderr.write(`kap score: unknown instrument "${id}" (use one of: ${ids})\n`);
        process.exitCode = 2;
        return;
      }
      if (opts.cutoff !== undefined) {
        if (id !== 'pcl5') {
          process.stderr.write('kap score: --cutoff applies to pcl5 only\n');
          process.exitCode = 2;
          return;
        }
        try {
          instrument = createPcl5({ cutoff: opts.cutoff });
        } catch (err) {
          process.stderr.write(`kap score: ${(err as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
      }
      try {
        const result = instrument.score(parseAnswers(instrument, args));
        process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatResult(instrument, result)}\n`);
      } catch (err) {
        if (!(err instanceof InvalidAnswersError)) throw err;
        process.stderr.write(`kap score: invalid ${instrument.shortName} answers:\n`);
        for (const p of err.problems) process.stderr.write(`  ${p.item === null ? 'answers' : `item ${p.item}`}: ${p.reason}\n`);
        process.exitCode = 2;
      }
    });
}
