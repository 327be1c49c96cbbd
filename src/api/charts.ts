// Inline SVG: a score chart per instrument (severity bands, baseline, response and remission marked)
// and the course's pathway with the client's position. Presentation attributes only (no inline
// styles), so the strict Content-Security-Policy holds; each chart has a title, a description and a
// data table for screen readers.
import type { PlannedStep } from '../domain';
import { RESPONSE_DROP_FRACTION } from '../domain/outcomes';
import type { DoseMark } from './client-record';
import type { InstrumentTrend } from './records';
import { html, type SafeHtml } from './html';

const BAND_FILLS = ['#ecfdf3', '#fefbe8', '#fff4e5', '#fde8e7', '#fbd5d2'];

/** A date in the clinic's zone (YYYY-MM-DD). */
function dayIn(ms: number, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString().slice(0, 10);
  }
}

/**
 * One instrument's totals over time, full width: severity bands shaded, the baseline, the response
 * line (a drop of RESPONSE_DROP_FRACTION from baseline) and the remission line where the domain
 * defines one (REMISSION_BELOW), and a vertical marker at each dose given (course_sessions.dosed_at).
 * Text is 12-13 px at the chart's natural width; a title, a description and a data table (scores and
 * doses in time order) for screen readers.
 */
export function scoreChart(t: InstrumentTrend, idPrefix: string, doses: readonly DoseMark[] = [], timeZone = 'UTC'): SafeHtml {
  const W = 960;
  const H = 300;
  const L = 48;
  const R = 150;
  const T = 26;
  const B = 38;
  const pw = W - L - R;
  const ph = H - T - B;
  const FS = 13;
  const max = t.maxTotal || 1;
  const y = (v: number) => T + ph - (v / max) * ph;
  const times = t.points.map((p) => Date.parse(p.completedAt));
  const doseTimes = doses.map((d) => Date.parse(d.dosedAt));
  const all = [...times, ...doseTimes];
  const t0 = Math.min(...all);
  const t1 = Math.max(...all);
  const pad = t1 === t0 ? 0 : (t1 - t0) * 0.03;
  const x = (ms: number) => (t1 === t0 ? L + pw / 2 : L + ((ms - t0 + pad) / (t1 - t0 + 2 * pad)) * pw);
  const id = `${idPrefix}-${t.instrumentId}`;
  const bands = t.bands.map((b, i) => {
    const top = y(Math.min(max, b.max + (i === t.bands.length - 1 ? 0 : 1)));
    const bottom = y(b.min);
    return html`<rect x="${L}" y="${top.toFixed(1)}" width="${pw}" height="${Math.max(0, bottom - top).toFixed(1)}" fill="${BAND_FILLS[Math.min(i, BAND_FILLS.length - 1)]}"/><text x="${L + pw + 8}" y="${((top + bottom) / 2 + 4).toFixed(1)}" font-size="${FS}" fill="#3d4556">${b.label} (${b.min}-${b.max})</text>`;
  });
  const line = t.points.map((p, i) => `${i ? 'L' : 'M'}${x(times[i]!).toFixed(1)},${y(p.total).toFixed(1)}`).join(' ');
  const marks: SafeHtml[] = [];
  if (t.baseline !== null) {
    marks.push(html`<line x1="${L}" x2="${L + pw}" y1="${y(t.baseline).toFixed(1)}" y2="${y(t.baseline).toFixed(1)}" stroke="#1d2433" stroke-dasharray="4 3"/><text x="${L + 4}" y="${(y(t.baseline) - 4).toFixed(1)}" font-size="${FS}" fill="#1d2433">baseline ${t.baseline}</text>`);
    if (t.instrumentId !== 'cssrs' && t.baseline > 0) {
      const r = t.baseline * (1 - RESPONSE_DROP_FRACTION);
      marks.push(html`<line x1="${L}" x2="${L + pw}" y1="${y(r).toFixed(1)}" y2="${y(r).toFixed(1)}" stroke="#1f5fbf" stroke-dasharray="2 3" stroke-width="1.5" data-mark="response"/><text x="${L + 4}" y="${(y(r) - 4).toFixed(1)}" font-size="${FS}" fill="#1f5fbf">response: at or below ${r % 1 ? r.toFixed(1) : r} (${RESPONSE_DROP_FRACTION * 100}% drop)</text>`);
    }
  }
  if (t.remissionBelow !== null) {
    const ry = y(t.remissionBelow - 0.5);
    marks.push(html`<line x1="${L}" x2="${L + pw}" y1="${ry.toFixed(1)}" y2="${ry.toFixed(1)}" stroke="#067647" stroke-width="2" data-mark="remission"/><text x="${L + pw - 4}" y="${(ry + 15).toFixed(1)}" font-size="${FS}" text-anchor="end" fill="#067647">remission: below ${t.remissionBelow}</text>`);
  }
  const doseMarks = doses.map((d, i) => {
    const dx = x(doseTimes[i]!).toFixed(1);
    return html`<g data-dose="${d.stepKey}"><title>Dose ${i + 1} (${d.stepKey}) on ${dayIn(doseTimes[i]!, timeZone)}</title><line x1="${dx}" x2="${dx}" y1="${T}" y2="${T + ph}" stroke="#7a3db8" stroke-width="2" stroke-dasharray="6 3"/><text x="${dx}" y="${T - 8}" font-size="12" text-anchor="middle" fill="#7a3db8">dose ${i + 1}</text></g>`;
  });
  const dots = t.points.map((p, i) => {
    const responded = t.baseline !== null && t.baseline > 0 && i > 0 && p.total <= t.baseline * (1 - RESPONSE_DROP_FRACTION);
    const remitted = t.remissionBelow !== null && i > 0 && p.total < t.remissionBelow;
    const fill = remitted ? '#067647' : responded ? '#1f5fbf' : p.critical ? '#b42318' : '#1d2433';
    return html`<circle cx="${x(times[i]!).toFixed(1)}" cy="${y(p.total).toFixed(1)}" r="${i === 0 ? 7 : 5.5}" fill="${fill}" stroke="#fff" stroke-width="1.5"><title>${dayIn(times[i]!, timeZone)}: ${p.total}${i === 0 ? ' (baseline)' : ''}${remitted ? ' remission' : responded ? ' response' : ''}${p.critical ? ' (critical answer)' : ''}</title></circle>`;
  });
  const ticks = [0, Math.round(max / 2), max].map((v) => html`<text x="${L - 8}" y="${(y(v) + 4).toFixed(1)}" font-size="${FS}" text-anchor="end" fill="#3d4556">${v}</text>`);
  const dates = t1 === t0 ? [t0] : [t0, t1];
  const xt = dates.map((ms) => html`<text x="${x(ms).toFixed(1)}" y="${H - 12}" font-size="${FS}" text-anchor="middle" fill="#3d4556">${dayIn(ms, timeZone)}</text>`);
  const summary = `${t.name}: ${t.points.length} score(s), baseline ${t.baseline ?? 'none'}, latest ${t.latest ?? 'none'}${t.response ? ', response' : ''}${t.remission ? ', remission' : ''}${t.changeCategory ? `, ${t.changeCategory.replace(/-/g, ' ')}` : ''}; ${doses.length} dose(s) marked.`;
  const rows = [
    ...t.points.map((p, i) => ({ ms: times[i]!, row: html`<tr><td>${dayIn(times[i]!, timeZone)}</td><td>${i === 0 ? 'Score (baseline)' : 'Score'}</td><td>${p.total}</td><td>${t.bands.find((b) => b.id === p.band)?.label ?? p.band ?? ''}</td></tr>` })),
    ...doses.map((d, i) => ({ ms: doseTimes[i]!, row: html`<tr><td>${dayIn(doseTimes[i]!, timeZone)}</td><td>Dose ${i + 1} (${d.stepKey})</td><td></td><td></td></tr>` })),
  ].sort((a, b) => a.ms - b.ms);
  return html`<figure class="card chart"><figcaption><strong>${t.name}</strong> <span class="muted">${summary}</span></figcaption>
<div class="chart-scroll" tabindex="0" role="region" aria-label="${t.name} chart"><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="${id}-t ${id}-d" xmlns="http://www.w3.org/2000/svg" data-instrument="${t.instrumentId}"><title id="${id}-t">${t.name} over time</title><desc id="${id}-d">${summary}</desc>
${bands}<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="#9aa3b5"/><line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="#9aa3b5"/>${ticks}${xt}${marks}${doseMarks}
<path d="${line}" fill="none" stroke="#1d2433" stroke-width="2.5"/>${dots}</svg></div>
<table class="sr-only"><caption>${t.name} scores and doses</caption><thead><tr><th scope="col">Date</th><th scope="col">What</th><th scope="col">Total</th><th scope="col">Band</th></tr></thead><tbody>${rows.map((r) => r.row)}</tbody></table></figure>`;
}

export interface PathwayStepState {
  state: string;
}

const STATE_FILL: Record<string, string> = { done: '#067647', skipped: '#98a2b3', cancelled: '#98a2b3', open: '#1f5fbf', overdue: '#b42318' };

/** The planned steps in rows by phase; each chip coloured by its state, the current one ringed. */
export function pathwayDiagram(plan: PlannedStep[], states: Map<string, string>, currentStep: string | null, phases: Array<{ id: string; name: string }>): SafeHtml {
  const chipW = 92;
  const chipH = 30;
  const gap = 8;
  const labelW = 230;
  const perRow = 6;
  const rows: Array<{ phase: string; steps: PlannedStep[] }> = [];
  for (const ph of phases) {
    const steps = plan.filter((s) => s.phaseId === ph.id);
    for (let i = 0; i < steps.length; i += perRow) rows.push({ phase: i === 0 ? ph.name : '', steps: steps.slice(i, i + perRow) });
  }
  const W = labelW + perRow * (chipW + gap);
  const H = rows.length * (chipH + gap) + 8;
  const currentName = plan.find((s) => s.id === currentStep)?.name;
  const body = rows.map((row, r) => {
    const yy = 4 + r * (chipH + gap);
    return html`<text x="0" y="${yy + 19}" font-size="12" font-weight="600" fill="#1d2433">${row.phase}</text>${row.steps.map((s, i) => {
      const st = states.get(s.id) ?? 'planned';
      const fill = STATE_FILL[st] ?? '#ffffff';
      const fg = STATE_FILL[st] ? '#ffffff' : '#5b6475';
      const xx = labelW + i * (chipW + gap);
      const current = s.id === currentStep;
      return html`<g><title>${s.name}: ${st}${current ? ' (current step)' : ''}</title><rect x="${xx}" y="${yy}" width="${chipW}" height="${chipH}" rx="6" fill="${fill}" stroke="${current ? '#f5b700' : '#9aa3b5'}" stroke-width="${current ? 4 : 1}"/><text x="${xx + chipW / 2}" y="${yy + 19}" font-size="11" text-anchor="middle" fill="${fg}">${s.id.length > 14 ? `${s.id.slice(0, 13)}…` : s.id}</text></g>`;
    })}`;
  });
  const desc = `Pathway of ${plan.length} steps. ${[...states.values()].filter((v) => v === 'done').length} done. Current step: ${currentName ?? currentStep ?? 'none'}.`;
  return html`<figure class="card"><figcaption><strong>Pathway</strong> <span class="muted">${desc} Legend: green done, blue open, red overdue, white not yet reached, yellow ring = current.</span></figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="pathway-t pathway-d" xmlns="http://www.w3.org/2000/svg"><title id="pathway-t">Course pathway</title><desc id="pathway-d">${desc}</desc>${body}</svg></figure>`;
}
