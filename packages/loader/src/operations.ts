// What each operation id the addon reports means (native/common.h TB_OPS is
// the list of ids; test/operations.test.ts checks that both agree). Errors
// and probe results are classified by these ids, never by message text.

export const OPERATIONS = {
  open_object: 'open object',
  load_object: 'load object',
  object_info: 'read object',
  set_global: 'set global',
  set_autoload: 'set autoload',
  set_attach_target: 'set attach target',
  program_fd: 'program fd',
  program_info: 'read program info',
  attach: 'attach',
  attach_kprobe: 'attach kprobe',
  attach_kretprobe: 'attach kretprobe',
  attach_kprobe_tracefs: 'attach kprobe (tracefs)',
  attach_kretprobe_tracefs: 'attach kretprobe (tracefs)',
  attach_tracepoint: 'attach tracepoint',
  attach_raw_tracepoint: 'attach raw tracepoint',
  attach_trace: 'attach',
  test_run: 'test run',
  link_info: 'link info',
  enable_stats: 'enable BPF stats',
  map_set_max_entries: 'set max entries',
  map_set_autocreate: 'set autocreate',
  map_set_key_size: 'set key size',
  map_set_value_size: 'set value size',
  map_set_flags: 'set map flags',
  map_info: 'map info',
  map_lookup: 'map lookup',
  map_update: 'map update',
  map_delete: 'map delete',
  map_next_key: 'map next key',
  map_lookup_batch: 'map lookup batch',
  map_update_batch: 'map update batch',
  ring_open: 'open ring buffer',
  perf_open: 'open perf buffer',
  reader_consume: 'consume',
  reader_poll: 'poll',
  handle: 'use handle',
  link_ids: 'list link ids',
  probe_kernel_btf: 'load kernel BTF',
  probe_map_create: 'create map',
  probe_batch_ops: 'batch map lookup',
  probe_prog_load: 'load trivial program',
  probe_kprobe_pmu: 'perf_event_open kprobe',
  probe_kprobe_events: 'open kprobe_events',
  probe_find_btf_id: 'find BTF id',
  probe_attach: 'attach trivial program',
  probe_tracepoint_id: 'read tracepoint id',
  socket_tcp_info: 'getsockopt TCP_INFO',
  socket_ioctl: 'socket ioctl',
  socket_setsockopt: 'setsockopt',
  socket_send: 'send',
  socket_recv: 'recv',
  pages_alloc: 'map pages',
  pages_release: 'release pages',
  file_map_ro: 'map file read-only',
} as const;

export type OperationId = keyof typeof OPERATIONS;

/** The words for an operation id (the id itself if the addon is newer than this table). */
export function describeOperation(id: string): string {
  return (OPERATIONS as Record<string, string>)[id] ?? id;
}
