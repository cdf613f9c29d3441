export const optimGpu = {};
