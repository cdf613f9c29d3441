export const shapeGpu = {};
