export const matmulGpu = {};
