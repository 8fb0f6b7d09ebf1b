// Only for `run.mjs --self-test`: checks, inside a guest, the machine the kernel suites expect.
export default { test: { include: ['test/**/*.kernel.test.mjs'], testTimeout: 60_000 } };
