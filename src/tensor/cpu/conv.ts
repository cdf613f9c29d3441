export const convCpu = {};
