// The last line of defence for client-facing email: a message whose subject, body or attachments
// name a drug, a diagnosis, a suicide-risk term or a score never leaves the building. Email crosses
// shared inboxes, lock screens and employers' servers: the minimum necessary is "your session at
// this time", never why. Templates are written not to trip this; the guard catches a template or
// data change that would.

/** Terms refused in client-facing email, as case-insensitive patterns on word starts. */
export const FORBIDDEN_CLIENT_TERMS: ReadonlyArray<{ term: string; pattern: RegExp }> = [
  // drugs and products
  ['ketamine', /\bketamin/],
  ['esketamine', /esketamin/],
  ['spravato', /\bspravato/],
  ['ketalar', /\bketalar/],
  ['psychedelic', /\bpsychedelic/],
  // diagnoses and conditions
  ['depression', /\bdepress/],
  ['ptsd', /\bptsd\b/],
  ['post-traumatic', /\bpost[\s-]?traumatic/],
  ['trauma', /\btrauma/],
  ['anxiety', /\banxiety/],
  ['bipolar', /\bbipolar/],
  ['psychosis', /\bpsychos[ie]s|\bpsychotic/],
  ['diagnosis', /\bdiagnos/],
  ['psychiatric', /\bpsychiatr/],
  // suicide and self-harm
  ['suicide', /suicid/],
  ['self-harm', /\bself[\s-]?harm/],
  ['overdose', /\boverdos/],
  // instruments, scores and doses
  ['phq', /\bphq/],
  ['gad-7', /\bgad[\s-]?7/],
  ['pcl-5', /\bpcl[\s-]?5/],
  ['c-ssrs', /\bc[\s-]?ssrs|\bcolumbia/],
  ['qids', /\bqids/],
  ['madrs', /\bmadrs/],
  ['score', /\bscor(e|es|ed|ing)\b/],
  ['dose', /\bdos(e|es|ed|ing|age)\b/],
  ['mg', /\d\s?mg\b|\bmg\/kg/],
].map(([term, pattern]) => ({ term: term as string, pattern: new RegExp((pattern as RegExp).source, 'iu') }));

export class ClinicalDetailError extends Error {
  constructor(
    readonly terms: string[],
    readonly where: string[],
  ) {
    // The message names the terms and fields, never the offending text (it may be PHI).
    super(`client-facing message refused: contains ${terms.join(', ')} (in ${where.join(', ')})`);
    this.name = 'ClinicalDetailError';
  }
}

/** Lower-cases, strips accents and HTML tags, and collapses spacing tricks ("k e t a m i n e" stays caught by the de-spaced copy). */
function normalise(text: string): string[] {
  const plain = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;|&#160;/gi, ' ')
    .replace(/[\u200b-\u200d\u2060\ufeff]/g, '')
    .replace(/\s+/g, ' ')
    .toLowerCase();
  const despaced = plain.replace(/[\s._*-]+/g, '');
  return [plain, despaced];
}

/** The forbidden terms found in a text (empty when clean). */
export function findForbiddenTerms(text: string): string[] {
  const [plain, despaced] = normalise(text);
  const found = new Set<string>();
  for (const { term, pattern } of FORBIDDEN_CLIENT_TERMS) {
    if (pattern.test(plain)) found.add(term);
    // Without spaces, only the long unambiguous names (short ones would match across word joins).
    else if (term.length >= 7 && despaced.includes(term.replace(/-/g, ''))) found.add(term);
  }
  return [...found];
}

/** Throws ClinicalDetailError when any part of a client-facing message names a forbidden term. */
export function assertClientSafe(parts: Record<string, string | undefined | null>): void {
  const terms = new Set<string>();
  const where: string[] = [];
  for (const [field, text] of Object.entries(parts)) {
    if (!text) continue;
    const found = findForbiddenTerms(text);
    if (found.length) {
      where.push(field);
      for (const t of found) terms.add(t);
    }
  }
  if (terms.size) throw new ClinicalDetailError([...terms], where);
}

/** A clinic's name when it is safe to show a client, otherwise a neutral stand-in ("Riverside Ketamine Clinic" would disclose treatment). */
export function clientSafeName(name: string | null | undefined, fallback = 'your care team'): string {
  if (!name || findForbiddenTerms(name).length) return fallback;
  return name;
}
