export const convGpu = {};
