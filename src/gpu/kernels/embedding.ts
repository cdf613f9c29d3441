export const embeddingGpu = {};
