export const normGpu = {};
