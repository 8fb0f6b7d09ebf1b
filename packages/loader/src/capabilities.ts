// What this process may do, read from /proc/self/status (facts for error hints).
import { readFileSync } from 'node:fs';

export interface Capabilities {
  sysAdmin: boolean;
  bpf: boolean;
  perfmon: boolean;
  /** Can load and attach tracing programs: CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN. */
  tracing: boolean;
  uid: number;
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export function readCapabilities(status?: string): Capabilities {
  let text = status;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      text = '';
    }
  }
  const eff = /^CapEff:\s*([0-9a-f]+)/m.exec(text)?.[1];
  const mask = eff ? BigInt(`0x${eff}`) : 0n;
  const has = (bit: bigint) => ((mask >> bit) & 1n) === 1n;
  const uid = Number(/^Uid:\s*(\d+)/m.exec(text)?.[1] ?? -1);
  const sysAdmin = has(CAP_SYS_ADMIN);
  const bpf = has(CAP_BPF);
  const perfmon = has(CAP_PERFMON);
  return { sysAdmin, bpf, perfmon, tracing: sysAdmin || (bpf && perfmon), uid };
}

export function describeMissing(c: Capabilities): string {
  const missing = [!c.bpf && 'CAP_BPF', !c.perfmon && 'CAP_PERFMON', !c.sysAdmin && 'CAP_SYS_ADMIN'].filter(Boolean);
  return missing.join(', ');
}
