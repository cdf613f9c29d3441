export const matmulCpu = {};
