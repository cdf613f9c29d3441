/** The processor a benchmark ran on, for printing beside its figures (from lscpu). */
import { execSync } from "node:child_process";

export function cpuModel(): { model: string; flags: string } {
  const info = execSync("lscpu", { encoding: "utf8" });
  const field = (k: string) => info.match(new RegExp(`^${k}:\\s*(.*)$`, "m"))?.[1]?.trim() ?? "?";
  const flags = field("Flags").split(" ");
  const simd = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"].filter((f) =>
    flags.includes(f),
  );
  // Cloud CPUs often report a bare "AMD EPYC": the family and model tell a Zen 4 (25/17) from a
  // Zen 5 (26/…), whose figures differ by about 2×.
  const generation = `family ${field("CPU family")} model ${field("Model")}`;
  return {
    model: `${field("Model name")}, ${generation} (${field("CPU\\(s\\)")} cores)`,
    flags: simd.join(" "),
  };
}
