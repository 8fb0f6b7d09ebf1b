// `pnpm test` on the host: the runner's own logic (no guest, no QEMU).
export default { test: { include: ['test/**/*.test.mjs'], exclude: ['test/**/*.kernel.test.mjs'] } };
