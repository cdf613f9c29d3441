export const attentionGpu = {};
