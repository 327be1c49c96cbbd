// Times as the engine writes them: epoch ms in, ISO 8601 (UTC) out. Pure; used by workflow code too.

/** An epoch-ms time as ISO 8601; null stays null (a time not reached yet). */
export function isoTime(t: number): string;
export function isoTime(t: number | null | undefined): string | null;
export function isoTime(t: number | null | undefined): string | null {
  return t === null || t === undefined ? null : new Date(t).toISOString();
}
