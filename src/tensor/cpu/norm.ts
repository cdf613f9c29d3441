export const normCpu = {};
