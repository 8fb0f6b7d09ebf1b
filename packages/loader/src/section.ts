// What a program's ELF section says about where it attaches (libbpf's names).

export type AttachSpec =
  | { kind: 'kprobe' | 'kretprobe'; target: string; offset: number }
  | { kind: 'fentry' | 'fexit' | 'fmod_ret' | 'tp_btf'; target: string }
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  | { kind: 'other'; section: string };

export function parseSection(section: string): AttachSpec {
  const slash = section.indexOf('/');
  const head = slash < 0 ? section : section.slice(0, slash);
  const rest = slash < 0 ? '' : section.slice(slash + 1);
  switch (head) {
    case 'kprobe':
    case 'kretprobe': {
      if (!rest) break;
      const plus = rest.lastIndexOf('+');
      const off = plus > 0 ? Number(rest.slice(plus + 1)) : 0;
      const target = plus > 0 && Number.isFinite(off) ? rest.slice(0, plus) : rest;
      return { kind: head, target, offset: Number.isFinite(off) ? off : 0 };
    }
    case 'fentry':
    case 'fexit':
    case 'fmod_ret':
    case 'tp_btf':
      if (rest) return { kind: head, target: rest };
      break;
    case 'fentry.s':
    case 'fexit.s':
      if (rest) return { kind: head === 'fentry.s' ? 'fentry' : 'fexit', target: rest };
      break;
    case 'tracepoint':
    case 'tp': {
      const i = rest.indexOf('/');
      if (i > 0) return { kind: 'tracepoint', category: rest.slice(0, i), name: rest.slice(i + 1) };
      break;
    }
    case 'raw_tracepoint':
    case 'raw_tp':
      if (rest) return { kind: 'raw_tracepoint', name: rest };
      break;
  }
  return { kind: 'other', section };
}
