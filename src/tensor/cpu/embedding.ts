export const embeddingCpu = {};
