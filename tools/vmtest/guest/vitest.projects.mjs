// The guest's one vitest run (guest/init.sh): every suite directory of VMTEST_SUITES is a
// project with its own vitest config. One vitest process per row instead of one per
// suite: vitest's own start-up costs 7-10 s per process under TCG. VMTEST_TRANSFORMS: the
// module cache the host filled for this run (lib/transforms.mjs), read instead of
// transforming every TypeScript file again under TCG.
const transforms = process.env.VMTEST_TRANSFORMS;
export default {
  test: {
    projects: (process.env.VMTEST_SUITES ?? '').split(/\s+/).filter(Boolean),
    ...(transforms ? { experimental: { fsModuleCache: true, fsModuleCachePath: transforms } } : {}),
  },
};
