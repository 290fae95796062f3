export default { test: { include: ["*.test.ts"], testTimeout: 30000 } };
