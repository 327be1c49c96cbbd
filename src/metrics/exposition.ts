// The Prometheus text exposition format (version 0.0.4). The API's registry is prom-client's
// (src/metrics/api-metrics.ts); what stays here is a strict parser, to check what we serve (tests,
// `npm run bench`) and the Temporal SDK runtime's text that GET /metrics appends.

export type Labels = Record<string, string>;

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ParsedExposition {
  /** Metric family names declared by # TYPE lines. */
  families: Map<string, string>;
  samples: Array<{ name: string; labels: Labels; value: number }>;
  errors: string[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/** Parses text exposition strictly enough to check what we serve (and what the SDK serves). */
export function parseExposition(text: string): ParsedExposition {
  const families = new Map<string, string>();
  const samples: ParsedExposition['samples'] = [];
  const errors: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)( .*)?$/.exec(line);
      if (!m) {
        if (!/^# /.test(line) && line !== '#') errors.push(`line ${i + 1}: bad comment`);
        return;
      }
      if (m[1] === 'TYPE') {
        const type = (m[3] ?? '').trim();
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) errors.push(`line ${i + 1}: unknown type ${type}`);
        if (families.has(m[2]!)) errors.push(`line ${i + 1}: ${m[2]} declared twice`);
        families.set(m[2]!, type);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) {
      errors.push(`line ${i + 1}: not a sample: ${line.slice(0, 120)}`);
      return;
    }
    const labels: Labels = {};
    if (m[3]) {
      LABEL.lastIndex = 0;
      let pos = 0;
      while (pos < m[3].length) {
        LABEL.lastIndex = pos;
        const l = LABEL.exec(m[3]);
        if (!l) {
          errors.push(`line ${i + 1}: bad labels`);
          break;
        }
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        pos = LABEL.lastIndex;
      }
    }
    const raw = m[4]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') errors.push(`line ${i + 1}: bad value ${raw}`);
    samples.push({ name: m[1]!, labels, value });
  });
  return { families, samples, errors };
}
