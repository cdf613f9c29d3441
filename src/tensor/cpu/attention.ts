export const attentionCpu = {};
