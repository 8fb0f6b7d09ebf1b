// The guest's one vitest run (guest/init.sh): every suite directory of VMTEST_SUITES is a
// project with its own vitest config. One vitest process per row instead of one per
// suite: vitest's own start-up costs 7-10 s per process under TCG.
export default {
  test: {
    projects: (process.env.VMTEST_SUITES ?? '').split(/\s+/).filter(Boolean),
  },
};
