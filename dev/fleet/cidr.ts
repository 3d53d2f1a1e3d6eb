/**
 * Pod IPs for the pods the runner backs. kwok hands out IPs only to pods it manages (the
 * cluster's loopback pod range, 127.1.0.0/16 by default), so the runner keeps its own pool, in a
 * range of its own (runnerPodCidr).
 */

function toInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`"${ip}" is not an IPv4 address`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  base: number;
  bits: number;
}

export function parseCidr(text: string): Cidr {
  const [ip, bitsText] = text.split('/');
  const bits = Number(bitsText);
  if (!ip || !Number.isInteger(bits) || bits < 8 || bits > 30) {
    throw new Error(`"${text}" is not an IPv4 CIDR between /8 and /30 (e.g. 127.1.0.0/16)`);
  }
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (toInt(ip) & mask) >>> 0, bits };
}

export const formatCidr = (c: Cidr) => `${toIp(c.base)}/${c.bits}`;

/**
 * The runner's range, named after the port it listens on: 127.<port / 256>.<port % 256>.0/24,
 * 254 pods. Its pod IPs are real listening addresses (each pod's process binds its IP and
 * port), so two live clusters must never share them: a demo cluster kept running and a test
 * run gave their first pods the same address, and the tests read the demo's dcgm-exporter. A
 * port only one live process can hold gives each cluster its own /24; ports of 1024 and up put
 * it at 127.4.0.0 or above, clear of 127.0.0.1 and kwok's 127.1.0.0/16.
 */
export function runnerPodCidr(port: number): string {
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new Error(`the pod runner's port ${port} is not between 1024 and 65535`);
  }
  return `127.${port >> 8}.${port & 255}.0/24`;
}

/** Hands out the addresses of a range in order, skipping its network and broadcast address. */
export class IpPool {
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();
  private next: number;

  constructor(cidr: string) {
    const c = parseCidr(cidr);
    this.first = c.base + 1;
    this.last = c.base + 2 ** (32 - c.bits) - 2;
    this.next = this.first;
  }

  contains(ip: string): boolean {
    const n = toInt(ip);
    return n >= this.first && n <= this.last;
  }

  /** Mark an address taken (one a previous runner gave out). */
  reserve(ip: string): void {
    if (this.contains(ip)) this.used.add(toInt(ip));
  }

  allocate(): string {
    const size = this.last - this.first + 1;
    for (let i = 0; i < size; i++) {
      const n = this.next;
      this.next = n === this.last ? this.first : n + 1;
      if (!this.used.has(n)) {
        this.used.add(n);
        return toIp(n);
      }
    }
    throw new Error(`pod IP range exhausted (${size} addresses in use)`);
  }

  release(ip: string): void {
    if (this.contains(ip)) this.used.delete(toInt(ip));
  }
}
