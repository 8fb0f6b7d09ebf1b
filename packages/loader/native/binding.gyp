{
  "targets": [
    {
      "target_name": "tracer_bpf_loader",
      "sources": [
        "addon.cc",
        "errors.cc",
        "features.cc",
        "handles.cc",
        "log.cc",
        "map.cc",
        "memory.cc",
        "object.cc",
        "program.cc",
        "readers.cc",
        "sockets.cc",
        "stats.cc",
        "syscalls.cc"
      ],
      "variables": {
        "prefix": "<!(node -p \"process.env.TRACER_BPF_NATIVE_PREFIX || require('path').resolve('../../../.cache/native/prefix')\")"
      },
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(prefix)/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": ["-fvisibility=hidden", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility=hidden", "-O2"],
      "libraries": [
        "<(prefix)/lib/libbpf.a",
        "<(prefix)/lib/libelf.a",
        "<(prefix)/lib/libz.a"
      ],
      "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,--as-needed", "-Wl,--wrap=syscall"]
    }
  ]
}
