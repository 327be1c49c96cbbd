// The simulator (and so a rehearsal) under enrollment back-pressure: a 503 with Retry-After wrote
// nothing (src/client/admission.ts), so it waits as told and sends the same request again; any other
// status is returned at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Api } from '../../../src/cli/commands/simulate';

async function serve(responses: Array<{ status: number; headers?: Record<string, string>; body: unknown }>) {
  const seen: Array<{ method: string; url: string; at: number }> = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, at: Date.now() });
    const r = responses[Math.min(seen.length - 1, responses.length - 1)]!;
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
    res.end(JSON.stringify(r.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('a 503 with Retry-After is waited out and sent again; the second answer is returned', async () => {
  const s = await serve([
    { status: 503, headers: { 'retry-after': '1' }, body: { error: 'unavailable', message: 'busy' } },
    { status: 201, body: { id: 'course-1' } },
  ]);
  try {
    const api = new Api(s.base, 'token');
    const r = await api.ok<{ id: string }>('POST', '/api/clients/c-1/courses', { protocolId: 'kap-office' });
    expect(r.id).toBe('course-1');
    expect(s.seen.map((x) => `${x.method} ${x.url}`)).toEqual(['POST /api/clients/c-1/courses', 'POST /api/clients/c-1/courses']);
    expect(s.seen[1]!.at - s.seen[0]!.at).toBeGreaterThanOrEqual(950);
  } finally {
    await s.close();
  }
});

test('a 503 without Retry-After, or any other error status, is not retried', async () => {
  const s = await serve([{ status: 503, body: { error: 'unavailable' } }]);
  try {
    await expect(new Api(s.base, 'token').ok('POST', '/api/clients/c-2/courses', {})).rejects.toThrow(/503/);
    expect(s.seen).toHaveLength(1);
  } finally {
    await s.close();
  }
});
