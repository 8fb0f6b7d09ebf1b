// C-like spellings of BTF types, for messages and generated comments.
import type { Btf } from './btf.js';

export function formatTypeName(btf: Btf, id: number, depth = 0): string {
  if (depth > 32) return '...';
  const t = btf.type(id);
  const named = (prefix: string): string => `${prefix} ${t.name || '(anon)'}`;
  switch (t.kind) {
    case 'void':
      return 'void';
    case 'int':
    case 'float':
    case 'typedef':
      return t.name;
    case 'struct':
    case 'union':
    case 'enum':
      return named(t.kind);
    case 'enum64':
      return named('enum');
    case 'fwd':
      return named(t.union ? 'union' : 'struct');
    case 'ptr':
      return `${formatTypeName(btf, t.type, depth + 1)} *`;
    case 'const':
    case 'volatile':
    case 'restrict':
      return `${t.kind} ${formatTypeName(btf, t.type, depth + 1)}`;
    case 'type_tag':
      return `${formatTypeName(btf, t.type, depth + 1)} __attribute__((btf_type_tag("${t.name}")))`;
    case 'array':
      return `${formatTypeName(btf, t.type, depth + 1)} [${t.nelems}]`;
    case 'func_proto': {
      const params = t.params.map((p) => (p.type === 0 ? '...' : formatTypeName(btf, p.type, depth + 1)));
      return `${formatTypeName(btf, t.returnType, depth + 1)} (${params.join(', ') || 'void'})`;
    }
    case 'func':
    case 'var':
      return t.name;
    case 'datasec':
      return `SEC("${t.name}")`;
    case 'decl_tag':
      return `__attribute__((btf_decl_tag("${t.name}")))`;
  }
}
