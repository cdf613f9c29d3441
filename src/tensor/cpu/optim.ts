export const optimCpu = {};
