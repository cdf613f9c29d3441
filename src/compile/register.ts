/** Plugs the onnx backend (reference single ops, compiled ONNX Runtime steps) into the tensor package. */
import { registerBackend } from "../tensor/device.ts";
import { OnnxBackend } from "./backend.ts";

registerBackend("onnx", async () => new OnnxBackend());
