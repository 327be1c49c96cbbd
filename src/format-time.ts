// Times as staff read them (the worklist, the client list, the `kap` command): in the clinic's time
// zone to the minute, never with seconds or milliseconds, and relative to now.

/** "Tue, Dec 1, 2026, 09:03 EST" in the zone (UTC if the zone is unknown or missing). */
export function clinicLocalTime(at: string | Date, timeZone: string | null | undefined): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  const fmt = (tz: string) => new Intl.DateTimeFormat('en-US', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: tz, timeZoneName: 'short' }).format(d);
  try {
    return fmt(timeZone || 'UTC');
  } catch {
    return fmt('UTC');
  }
}

/** "in 3 d 4 h", "2 h 5 min ago", "now". */
export function relativeTime(at: string | Date, now = new Date()): string {
  const s = Math.round(((typeof at === 'string' ? new Date(at) : at).getTime() - now.getTime()) / 1000);
  const a = Math.abs(s);
  if (a < 60) return 'now';
  const text = a < 3600 ? `${Math.floor(a / 60)} min` : a < 86400 ? `${Math.floor(a / 3600)} h${Math.floor((a % 3600) / 60) ? ` ${Math.floor((a % 3600) / 60)} min` : ''}` : `${Math.floor(a / 86400)} d${Math.floor((a % 86400) / 3600) ? ` ${Math.floor((a % 86400) / 3600)} h` : ''}`;
  return s > 0 ? `in ${text}` : `${text} ago`;
}
