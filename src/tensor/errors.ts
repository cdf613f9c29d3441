/** Errors the engine raises; each message names the op and what was wrong. */
export class ShapeError extends Error {
  override name = "ShapeError";
}
export class DTypeError extends Error {
  override name = "DTypeError";
}
export class DeviceError extends Error {
  override name = "DeviceError";
}
export class OutOfMemoryError extends Error {
  override name = "OutOfMemoryError";
}
export class DeviceLostError extends Error {
  override name = "DeviceLostError";
}
