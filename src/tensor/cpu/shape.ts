export const shapeCpu = {};
