// Webhook targets must be on the public internet: a subscription is created by clinic staff, and a
// delivery to 127.0.0.1, a link-local metadata address or the clinic's private network would make the
// engine a port scanner whose delivery log (status codes, "fetch failed") reports what it found.
// Checked when a subscription is saved (400 naming `url`) and again at each delivery, on the addresses
// the name resolves to then (a name can be re-pointed after it was checked).
import { lookup } from 'node:dns/promises';
import net from 'node:net';

const blocked = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) blocked.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) blocked.addSubnet(addr, prefix, 'ipv6');

/** Whether an IP address is one a webhook may be delivered to (public unicast). */
export function isPublicAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return !blocked.check(ip, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return isPublicAddress(mapped[1]!);
    return !blocked.check(ip, 'ipv6');
  }
  return false;
}

/** Null when every address the URL's host resolves to is public, else why not (no address named). */
export async function privateTargetProblem(url: string, resolve: (host: string) => Promise<string[]> = resolveAll): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must be a public address, not this machine';
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      return 'the host name does not resolve';
    }
  }
  if (addresses.length === 0) return 'the host name does not resolve';
  return addresses.every(isPublicAddress) ? null : 'must be a public address (it reaches this machine or a private network)';
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}
