// Classic tracepoint record layouts, read from tracefs `format` at run time.
// A record's layout is not a stable ABI: fields come and go between kernel
// versions, and builds of one version differ (PREEMPT_RT has another common
// header), so a program never declares a record by hand: it takes each
// field's offset from here (through globals set before load).
import { readFileSync } from 'node:fs';
import { BpfArgumentError, BpfNotSupportedError, BpfPermissionError } from './errors.js';
import { requireTracefs } from './tracefs.js';

/** One field of a tracepoint record. */
export interface TracepointField {
  /** The field's name (`skaddr`, `saddr_v6`, `common_pid`). */
  name: string;
  /** Its C type as tracefs prints it, without the name (`const void *`, `__u8[16]`). */
  type: string;
  /** Byte offset in the record (the program's ctx). */
  offset: number;
  /** Size in bytes (for an array, all of it). */
  size: number;
  signed: boolean;
  /** Element count for arrays (`__u8 saddr[4]` gives 4), else undefined. */
  arrayLength?: number;
  /** A `common_*` field of the header every record of this kernel starts with. */
  common: boolean;
}

/** A tracepoint's record layout. */
export interface TracepointFormat {
  category: string;
  name: string;
  /** The tracepoint's id (what perf_event_open takes). */
  id: number;
  /** Every field, the common header first, in record order. */
  fields: TracepointField[];
  /** A field by name, or undefined. */
  field(name: string): TracepointField | undefined;
}

const FIELD_RE = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

/** Parses the text of a tracefs `format` file. Throws BpfArgumentError on text that is not one. */
export function parseTracepointFormat(text: string, category = '', name = ''): TracepointFormat {
  const op = 'parse tracepoint format';
  const target = category && name ? `${category}/${name}` : undefined;
  const fields: TracepointField[] = [];
  let id = -1;
  for (const line of text.split('\n')) {
    const idm = /^ID:\s*(\d+)/.exec(line);
    if (idm) id = Number(idm[1]);
    const nm = /^name:\s*(\S+)/.exec(line);
    if (nm && !name) name = nm[1]!;
    const m = FIELD_RE.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    // `type name`, `type name[N]`, `type name[]` (dynamic arrays are __data_loc u32s)
    // or `type name[sizeof(struct sockaddr_in6)]` (5.10's tcp_probe): the length is then size / element size.
    const dm = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(\[([^\]]*)\])?$/.exec(decl);
    if (!dm) throw new BpfArgumentError({ code: 'ERR_BPF_TRACEPOINT_FORMAT', op, ...(target ? { target } : {}), message: `cannot read field declaration "${decl}"` });
    const fieldName = dm[2]!;
    const base = dm[1]!.trim();
    const field: TracepointField = {
      name: fieldName,
      type: dm[3] ? `${base}[${dm[4] && /^\d+$/.test(dm[4]) ? dm[4] : dm[4] ? Number(m[3]) : ''}]` : base,
      offset: Number(m[2]),
      size: Number(m[3]),
      signed: m[4] === '1',
      common: fieldName.startsWith('common_'),
    };
    if (dm[4] && /^\d+$/.test(dm[4])) field.arrayLength = Number(dm[4]);
    else if (dm[4] && /^(__u8|__s8|u8|s8|char|unsigned char)$/.test(base)) field.arrayLength = field.size;
    fields.push(field);
  }
  if (fields.length === 0) {
    throw new BpfArgumentError({ code: 'ERR_BPF_TRACEPOINT_FORMAT', op, ...(target ? { target } : {}), message: 'no field lines: not a tracefs format file' });
  }
  const byName = new Map(fields.map((f) => [f.name, f]));
  return { category, name, id, fields, field: (n) => byName.get(n) };
}

/**
 * The record layout of tracepoint `category/name` on the running kernel, from
 * tracefs. Throws BpfNotSupportedError when tracefs is not mounted or the
 * kernel has no such tracepoint.
 */
export function readTracepointFormat(category: string, name: string): TracepointFormat {
  const op = 'read tracepoint format';
  const target = `${category}/${name}`;
  if (!/^[A-Za-z0-9_]+$/.test(category) || !/^[A-Za-z0-9_]+$/.test(name)) {
    throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op, target, message: 'a tracepoint category and name are [A-Za-z0-9_]+' });
  }
  const dir = requireTracefs(op);
  let text: string;
  try {
    text = readFileSync(`${dir}/events/${category}/${name}/format`, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      throw new BpfNotSupportedError({ feature: `tracepoint ${target}`, code: 'ENOENT', errno: 2, op, target, hint: 'this kernel has no such tracepoint' });
    }
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      throw new BpfPermissionError({ code: err.code, errno: Math.abs(err.errno ?? 13), op, target, hint: 'reading tracefs needs root (or read access to its events/ folder)' });
    }
    throw e;
  }
  return parseTracepointFormat(text, category, name);
}
