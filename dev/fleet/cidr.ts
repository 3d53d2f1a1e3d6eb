/**
 * Pod IPs for the pods the runner backs. kwok hands out IPs only to pods it manages, so the
 * runner keeps its own pool: the upper half of the cluster's loopback pod range (kwok gets the
 * lower half), so the two never collide.
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

/** The two halves of a range: 127.1.0.0/16 -> 127.1.0.0/17 and 127.1.128.0/17. */
export function splitCidr(text: string): [string, string] {
  const c = parseCidr(text);
  const half = 2 ** (32 - c.bits - 1);
  return [
    formatCidr({ base: c.base, bits: c.bits + 1 }),
    formatCidr({ base: c.base + half, bits: c.bits + 1 }),
  ];
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
