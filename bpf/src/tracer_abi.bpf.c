// SPDX-License-Identifier: GPL-2.0
/* Never loaded: this object exists for its BTF, which holds every struct and
 * enum of tracer_bpf/abi.h. @tracer-bpf/decode generates its layout table
 * (src/layout.gen.ts) from it. One global per type keeps each type in BTF. */
#include <linux/types.h>
#include "../include/tracer_bpf/abi.h"

struct conn_tuple abi_conn_tuple;
struct conn_stats abi_conn_stats;
struct tcp_stats abi_tcp_stats;
struct tcp_sock_rec abi_tcp_sock_rec;
struct conn abi_conn;
struct batch abi_batch;
struct telemetry abi_telemetry;
struct port_binding abi_port_binding;
struct guess_deref abi_guess_deref;
struct guess_mailbox abi_guess_mailbox;
struct guess_capture abi_guess_capture;

enum tracer_abi_const abi_tracer_abi_const;
enum conn_type_bit abi_conn_type_bit;
enum conn_family_bit abi_conn_family_bit;
enum conn_direction abi_conn_direction;
enum conn_flags abi_conn_flags;
enum conn_close_reason abi_conn_close_reason;
enum tcp_rec_live abi_tcp_rec_live;
enum tcp_state_num abi_tcp_state_num;
enum guess_what abi_guess_what;
enum guess_const abi_guess_const;
enum guess_deref_flags abi_guess_deref_flags;
