/**
 * Device profiles for the profiler's roofline estimates: data only, one entry per device.
 *
 * The MCU boards with `kernels` (stm32l4r5, stm32h7a3, stm32u575, ra6m4) use a kernel library's cycle
 * model fitted to published MLPerf Tiny results and checked on other boards (profile/mlperf.ts,
 * README "Profiler vs MLPerf Tiny"). Every other figure here is an ESTIMATE assembled from datasheets,
 * vendor benchmarks and papers (cited per device). "Sustained" MAC rates are what well-tuned kernels reach on convolution / dense layers,
 * not the marketing peak; energy figures are order-of-magnitude. Use the numbers to compare
 * configurations on one device, not to promise a latency or battery life to a customer. The
 * figures were compiled from the cited documents and rounded, not re-measured here; expect errors
 * of +-50% on absolute numbers (ratios between configurations are more reliable).
 *
 * Energy model (see estimate.ts): E = (MACs + flops) * energyPerMac[precision]
 *   + onchipBytes * onchip.energyPerByte + offchipBytes * offchip.energyPerByte + staticPowerW * latency.
 * For the CPUs, energyPerMac is the *incremental* (dynamic) energy: (active power - idle power) /
 * sustained MAC rate, and staticPowerW is the idle/baseline power of the chip or board, so the two
 * together reproduce the datasheet's active power at full load.
 *
 * Users can pass their own device as a JSON file with the same fields (`--device my-board.json`).
 */
import * as fs from 'node:fs';
import { invalid, usage } from '../compiler/errors.js';
import type { LayerClass } from './estimate.js';

/** Compute precision of a layer (int4 weight-only layers compute in float: 'fp32'). */
export type Precision = 'fp32' | 'fp16' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'int8'];

/** One memory tier. */
export interface MemoryTier {
  /** What it is (e.g. "on-chip SRAM", "QSPI flash", "LPDDR4"). */
  what: string;
  /** Capacity in bytes. */
  bytes: number;
  /** Sustained bandwidth in bytes per second. */
  bandwidth: number;
  /** Energy per byte moved, joules. */
  energyPerByte: number;
}

/** A device profile (all rates per second, energies in joules, powers in watts). */
export interface DeviceProfile {
  /** Name used with --device (lower-case, kebab-case). */
  name: string;
  /** One line: chip, clock, board. */
  description: string;
  kind: 'mcu' | 'cpu' | 'gpu' | 'fpga' | 'browser';
  /** Sustained multiply-accumulates per second for each compute precision. */
  macsPerSec: Record<Precision, number>;
  /** Incremental energy per MAC (and per other arithmetic op), joules. */
  energyPerMac: Record<Precision, number>;
  /** On-chip memory: the activation arena must fit here (SRAM, L2 cache, BRAM). */
  onchip: MemoryTier;
  /** Off-chip / weight memory: flash on MCUs, DRAM elsewhere. */
  offchip: MemoryTier;
  /**
   * Where weights live: 'offchip' (flash/DRAM, streamed each inference) or 'onchip' (FPGA BRAM,
   * when they fit; capacity is then checked against onchip.bytes).
   */
  weights: 'onchip' | 'offchip';
  /** Baseline power while the model runs (idle/leakage part), watts. */
  staticPowerW: number;
  /** Fixed cost per executed layer (call/dispatch/kernel launch), seconds. */
  layerOverheadS: number;
  /**
   * 'host-wasm': MAC rates are replaced by the host's measured wasm throughput when the profiler
   * has wasm measurements (see calibrateHostDevice).
   */
  calibrate?: 'host-wasm';
  /** Where the numbers come from (free text, one source per entry). */
  sources: string[];
  /**
   * Cycle models of the kernel libraries that run on this device (MCUs), the first one the
   * default (`edgec profile --kernels NAME` picks another). When present, latency is
   * cycles / clock from the chosen model instead of the roofline, and energy is its active power
   * times latency (the way MLPerf Tiny measures energy per inference).
   */
  kernels?: KernelModel[];
}

/**
 * A kernel library's cost on one device, per layer:
 *   cycles = macs * cyclesPerMac[class] * precisionFactor[precision]
 *          + outputs * cyclesPerOutput * precisionFactor[precision] + cyclesPerLayer
 * where `class` is estimate.ts's layerClass and `outputs` the layer's non-MAC work (its output
 * elements for convolutions and dense layers, the registry's flops for the other ops).
 */
export interface KernelModel {
  /** Name used with --kernels (lower-case, kebab-case), e.g. "x-cube-ai". */
  name: string;
  /** One line: library, version, what it was calibrated on. */
  description: string;
  /** Core clock the cycles run at, Hz. */
  clockHz: number;
  /** int8 cycles per multiply-accumulate, per kernel class ('other' is costed per output). */
  cyclesPerMac: Record<Exclude<LayerClass, 'other'>, number>;
  /** Cycles per output element (requantization, activation, store) and per element of other ops. */
  cyclesPerOutput: number;
  /** Fixed cycles per executed layer (dispatch, tensor setup). */
  cyclesPerLayer: number;
  /** Cost of fp32 / fp16 kernels relative to int8 (int8 is 1). */
  precisionFactor: Record<Precision, number>;
  /** Power drawn while the model runs, watts (energy = activePowerW * latency). */
  activePowerW: number;
  /** Where the numbers come from (free text). */
  sources: string[];
}

/**
 * X-CUBE-AI 9.0 int8 kernels on a Cortex-M4 core, in M4 cycles: fitted by hand (rounded values)
 * to the four MLPerf Tiny v1.2 results of the NUCLEO-L4R5ZI (STM32L4R5 @ 120 MHz, closed division,
 * STMicroelectronics: IC 165.0 ms, KWS 43.15 ms, VWW 88.85 ms, AD 5.25 ms) over the layer classes of
 * the bench models; `npm run calibrate-mcu` prints the fit and the error on every board.
 */
const XCUBEAI_M4 = {
  cyclesPerMac: { conv: 1.5, 'conv-narrow': 4, pointwise: 1.0, depthwise: 2.5, dense: 2.2 },
  cyclesPerOutput: 4,
  cyclesPerLayer: 1500,
} as const;

/**
 * TFLite Micro / microTVM with CMSIS-NN int8 kernels on a Cortex-M4, in M4 cycles: fitted to the
 * MLPerf Tiny v1.1 microtvm_cmsis_nn results of the NUCLEO-L4R5ZI (Krai/OctoML: IC 389.6 ms,
 * KWS 99.8 ms, VWW 300.8 ms, AD 8.61 ms at 120 MHz).
 */
const CMSISNN_M4 = {
  cyclesPerMac: { conv: 3.5, 'conv-narrow': 9, pointwise: 3.4, depthwise: 8, dense: 3.6 },
  cyclesPerOutput: 10,
  cyclesPerLayer: 5000,
} as const;

/**
 * fp32 kernels cost about twice the int8 ones on a single-precision FPU (one VFMA per MAC plus two
 * loads vs two MACs per SMLAD); fp16 has no arithmetic on Cortex-M4/M7/M33 (conversion only).
 * Estimates, not calibrated: MLPerf Tiny publishes int8 results only.
 */
const MCU_PRECISION = { int8: 1, fp32: 2, fp16: 2.4 } as const;

/**
 * A library's M4 cycle model moved to another Cortex-M core: cycles scale by the ratio of the
 * cores' CoreMark/MHz (an independent, published per-core figure: the scaled model is then checked
 * against that board's own MLPerf results, never fitted to them).
 */
function kernelModel(name: string, description: string, base: typeof XCUBEAI_M4 | typeof CMSISNN_M4,
  clockHz: number, coremarkPerMHz: number, activePowerW: number, sources: string[]): KernelModel {
  const scale = CM4_COREMARK_PER_MHZ / coremarkPerMHz;
  const cpm = Object.fromEntries(Object.entries(base.cyclesPerMac).map(([k, v]) => [k, v * scale])) as KernelModel['cyclesPerMac'];
  return {
    name, description, clockHz, cyclesPerMac: cpm, cyclesPerOutput: base.cyclesPerOutput * scale,
    cyclesPerLayer: base.cyclesPerLayer * scale, precisionFactor: { ...MCU_PRECISION }, activePowerW, sources,
  };
}

/** CoreMark/MHz of the STM32L4R5 (Cortex-M4): 409.2 CoreMark at 120 MHz (ST DS12023). */
const CM4_COREMARK_PER_MHZ = 409.2 / 120;

const MHZ = 1e6;
const GHZ = 1e9;
const KB = 1024;
const MB = 1024 * 1024;
const pJ = 1e-12;
const nJ = 1e-9;

/**
 * Built-in devices. Names are stable (CLI flag values); figures may be refined.
 */
export const DEVICES: readonly DeviceProfile[] = [
  {
    name: 'cortex-m4',
    description: 'Arm Cortex-M4F, STM32F407 @ 168 MHz, 192 KB SRAM, 1 MB flash (CMSIS-NN kernels)',
    kind: 'mcu',
    // int8: CMSIS-NN uses SMLAD (two 16x16 MACs per cycle) after q7->q15 expansion; with im2col and
    // loads it sustains ~0.5 MAC/cycle on conv layers (Lai, Suda, Chandra, "CMSIS-NN: Efficient
    // Neural Network Kernels for Arm Cortex-M CPUs", arXiv:1801.06601, 2018; MLPerf Tiny v1.0
    // STM32 Cortex-M4 ResNet-8 results are consistent with ~0.4-0.5 MAC/cycle).
    // fp32: FPv4-SP, VFMA plus two loads per MAC: ~0.25 MAC/cycle. fp16: no half-precision
    // arithmetic on the M4 (conversion only), so fp16 runs as fp32 plus conversions (~0.2).
    macsPerSec: { fp32: 0.25 * 168 * MHZ, fp16: 0.2 * 168 * MHZ, int8: 0.5 * 168 * MHZ },
    // STM32F407 datasheet (DS8626) typical Run current at 168 MHz from flash, peripherals
    // disabled, is roughly 40 mA vs ~12 mA in Sleep at the same clock: ~28 mA * 3.3 V ~ 92 mW of
    // core dynamic power, i.e. ~0.55 nJ per cycle; divided by MACs per cycle.
    energyPerMac: { fp32: 0.55 * nJ / 0.25, fp16: 0.55 * nJ / 0.2, int8: 0.55 * nJ / 0.5 },
    // SRAM: 32-bit AHB at 168 MHz = 672 MB/s. Flash with ART accelerator: 128-bit lines, 5 wait
    // states at 168 MHz: ~16 B / 6 cycles ~ 450 MB/s sequential (RM0090 section 3.5).
    // Per-byte energies: incremental bus/memory energy beyond the per-cycle core energy above,
    // scaled from Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm) to 90 nm.
    onchip: { what: 'SRAM (112+16 KB + 64 KB CCM)', bytes: 192 * KB, bandwidth: 672 * MB, energyPerByte: 5 * pJ },
    offchip: { what: 'embedded flash (ART accelerator)', bytes: 1024 * KB, bandwidth: 450 * MB, energyPerByte: 30 * pJ },
    weights: 'offchip',
    staticPowerW: 0.04, // ~12 mA * 3.3 V, Sleep mode at 168 MHz (DS8626, approximate)
    layerOverheadS: 10e-6,
    sources: [
      'ST DS8626 (STM32F405/407 datasheet): clock, SRAM/flash sizes, Run/Sleep currents',
      'ST RM0090 reference manual: flash wait states and ART accelerator',
      'Lai et al., CMSIS-NN, arXiv:1801.06601 (2018): int8 kernel throughput on Cortex-M',
      'Horowitz, Computing\'s energy problem, ISSCC 2014: memory access energies (scaled)',
    ],
  },
  {
    name: 'cortex-m7',
    description: 'Arm Cortex-M7, STM32F746 @ 216 MHz, 320 KB SRAM, 1 MB flash (CMSIS-NN kernels)',
    kind: 'mcu',
    // CMSIS-NN paper: a 3-conv CIFAR-10 net (~12.3 M MACs) at 10.1 inferences/s on an STM32F746
    // @ 216 MHz -> ~124 MMAC/s ~ 0.57 MAC/cycle int8. fp32: dual-issue FPv5 ~0.4 MAC/cycle.
    // fp16: Cortex-M7 FPv5 has half-precision conversion only, so fp16 runs as fp32.
    macsPerSec: { fp32: 0.4 * 216 * MHZ, fp16: 0.35 * 216 * MHZ, int8: 0.57 * 216 * MHZ },
    // STM32F746 datasheet (DS10916): Run ~100 mA at 216 MHz (peripherals disabled) vs Sleep
    // ~35 mA: ~65 mA * 3.3 V ~ 0.21 W dynamic ~ 1 nJ per cycle.
    energyPerMac: { fp32: 1.0 * nJ / 0.4, fp16: 1.0 * nJ / 0.35, int8: 1.0 * nJ / 0.57 },
    // 64-bit AXI SRAM at 216 MHz ~ 1.7 GB/s; flash via ART/cache (7 wait states) ~ 0.5 GB/s.
    onchip: { what: 'SRAM (incl. 64 KB DTCM)', bytes: 320 * KB, bandwidth: 1.7 * GHZ, energyPerByte: 4 * pJ },
    offchip: { what: 'embedded flash (ART + L1 cache)', bytes: 1024 * KB, bandwidth: 0.5 * GHZ, energyPerByte: 25 * pJ },
    weights: 'offchip',
    staticPowerW: 0.115, // ~35 mA * 3.3 V Sleep at 216 MHz (approximate)
    layerOverheadS: 5e-6,
    sources: [
      'ST DS10916 (STM32F745/746 datasheet): clock, SRAM/flash sizes, Run/Sleep currents',
      'Lai et al., CMSIS-NN, arXiv:1801.06601 (2018): CIFAR-10 at 10.1 img/s on STM32F746',
      'Horowitz, ISSCC 2014 (memory energies, scaled)',
    ],
  },
  {
    name: 'stm32l4r5',
    description: 'NUCLEO-L4R5ZI: STM32L4R5 Cortex-M4F @ 120 MHz, 640 KB SRAM, 2 MB flash (X-CUBE-AI 9 kernels; MLPerf Tiny reference board)',
    kind: 'mcu',
    // Roofline figures (used for fp16 layers without a kernel model and for the memory columns):
    // the M4 int8 and fp32 rates of the cortex-m4 profile, at 120 MHz.
    macsPerSec: { fp32: 0.25 * 120 * MHZ, fp16: 0.2 * 120 * MHZ, int8: 0.6 * 120 * MHZ },
    // roofline fallback: the active power spread over the sustained MAC rate
    energyPerMac: { fp32: 0.042 / (0.25 * 120 * MHZ), fp16: 0.042 / (0.2 * 120 * MHZ), int8: 0.042 / (0.6 * 120 * MHZ) },
    onchip: { what: 'SRAM (SRAM1-3)', bytes: 640 * KB, bandwidth: 480 * MB, energyPerByte: 0 },
    offchip: { what: 'embedded flash (ART accelerator, 5 wait states)', bytes: 2048 * KB, bandwidth: 320 * MB, energyPerByte: 0 },
    weights: 'offchip',
    staticPowerW: 0.042,
    layerOverheadS: 1500 / (120 * MHZ),
    kernels: [
      kernelModel('x-cube-ai', 'STM32Cube.AI (X-CUBE-AI) 9.0 int8 kernels, calibrated on this board\'s MLPerf Tiny v1.2 results',
        XCUBEAI_M4, 120 * MHZ, CM4_COREMARK_PER_MHZ, 0.042, [
          'MLPerf Tiny v1.2 closed, STMicroelectronics, NUCLEO-L4R5ZI with X-CUBE-AI 9.0 (github.com/mlcommons/tiny_results_v1.2): IC 6.062 inf/s, 6919 uJ; KWS 23.175 inf/s, 1820 uJ; VWW 11.255 inf/s, 3895 uJ; AD 190.46 inf/s, 203 uJ',
          'active power 42 mW: median power of those energy runs (38.7-43.8 mW)',
        ]),
      kernelModel('cmsis-nn', 'TFLite Micro / microTVM with CMSIS-NN int8 kernels, calibrated on MLPerf Tiny v1.1 microtvm_cmsis_nn results on this board',
        CMSISNN_M4, 120 * MHZ, CM4_COREMARK_PER_MHZ, 0.042, [
          'MLPerf Tiny v1.1 closed, Krai, microtvm_cmsis_nn on NUCLEO_L4R5ZI (github.com/mlcommons/tiny_results_v1.1): IC 2.567, KWS 10.019, VWW 3.324, AD 116.212 inf/s',
        ]),
    ],
    sources: [
      'ST DS12023 (STM32L4R5xx datasheet): 120 MHz, 640 KB SRAM, 2 MB flash, 409.2 CoreMark',
      'MLPerf Tiny v1.2 / v1.1 results (see the kernel models)',
    ],
  },
  {
    name: 'stm32h7a3',
    description: 'NUCLEO-H7A3ZI-Q: STM32H7A3 Cortex-M7 @ 280 MHz, 1.4 MB SRAM, 2 MB flash (X-CUBE-AI 9 kernels)',
    kind: 'mcu',
    macsPerSec: { fp32: 0.4 * 280 * MHZ, fp16: 0.35 * 280 * MHZ, int8: 1.0 * 280 * MHZ },
    // roofline fallback: the active power spread over the sustained MAC rate
    energyPerMac: { fp32: 0.125 / (0.4 * 280 * MHZ), fp16: 0.125 / (0.35 * 280 * MHZ), int8: 0.125 / (1.0 * 280 * MHZ) },
    onchip: { what: 'SRAM (AXI SRAM + DTCM)', bytes: 1400 * KB, bandwidth: 2.2 * GHZ, energyPerByte: 0 },
    offchip: { what: 'embedded flash (AXI, L1 cache)', bytes: 2048 * KB, bandwidth: 0.6 * GHZ, energyPerByte: 0 },
    weights: 'offchip',
    staticPowerW: 0.125,
    layerOverheadS: 1000 / (280 * MHZ),
    kernels: [
      kernelModel('x-cube-ai', 'X-CUBE-AI 9.0 int8 kernels: the STM32L4R5 (Cortex-M4) model scaled by CoreMark/MHz (1414 CoreMark at 280 MHz)',
        XCUBEAI_M4, 280 * MHZ, 1414 / 280, 0.125, [
          'ST STM32H7A3 product page / datasheet DS13195: 280 MHz, 1414 CoreMark',
          'active power 125 mW: median power of the board\'s MLPerf Tiny v1.2 energy runs (122-136 mW), so the energy check here tests the latency model',
          'checked against MLPerf Tiny v1.2 closed, STMicroelectronics, NUCLEO_H7A3ZI_Q: IC 24.483, KWS 88.356, VWW 42.009, AD 816.0 inf/s',
        ]),
      kernelModel('cmsis-nn', 'CMSIS-NN int8 kernels: the STM32L4R5 CMSIS-NN model scaled by CoreMark/MHz (not checked: no published run)',
        CMSISNN_M4, 280 * MHZ, 1414 / 280, 0.125, ['see stm32l4r5 cmsis-nn']),
    ],
    sources: ['ST DS13195 (STM32H7A3 datasheet): 280 MHz, 1.4 MB SRAM, 2 MB flash', 'MLPerf Tiny v1.2 results (see the kernel models)'],
  },
  {
    name: 'stm32u575',
    description: 'NUCLEO-U575ZI-Q: STM32U575 Cortex-M33 @ 160 MHz, 786 KB SRAM, 2 MB flash (X-CUBE-AI 9 kernels)',
    kind: 'mcu',
    macsPerSec: { fp32: 0.3 * 160 * MHZ, fp16: 0.25 * 160 * MHZ, int8: 0.7 * 160 * MHZ },
    // roofline fallback: the active power spread over the sustained MAC rate
    energyPerMac: { fp32: 0.023 / (0.3 * 160 * MHZ), fp16: 0.023 / (0.25 * 160 * MHZ), int8: 0.023 / (0.7 * 160 * MHZ) },
    onchip: { what: 'SRAM (SRAM1-4)', bytes: 786 * KB, bandwidth: 640 * MB, energyPerByte: 0 },
    offchip: { what: 'embedded flash (ICACHE)', bytes: 2048 * KB, bandwidth: 400 * MB, energyPerByte: 0 },
    weights: 'offchip',
    staticPowerW: 0.023,
    layerOverheadS: 1300 / (160 * MHZ),
    kernels: [
      kernelModel('x-cube-ai', 'X-CUBE-AI 9.0 int8 kernels: the STM32L4R5 (Cortex-M4) model scaled by CoreMark/MHz (651 CoreMark at 160 MHz)',
        XCUBEAI_M4, 160 * MHZ, 651 / 160, 0.023, [
          'ST STM32U575 datasheet DS13737: 160 MHz, 651 CoreMark',
          'active power 23 mW: median power of the board\'s MLPerf Tiny v1.2 energy runs (22.7-24.0 mW), so the energy check here tests the latency model',
          'checked against MLPerf Tiny v1.2 closed, STMicroelectronics, NUCLEO_U575ZI_Q: IC 9.003, KWS 34.623, VWW 16.978, AD 293.34 inf/s',
        ]),
      kernelModel('cmsis-nn', 'CMSIS-NN int8 kernels: the STM32L4R5 CMSIS-NN model scaled by CoreMark/MHz (not checked: no published run)',
        CMSISNN_M4, 160 * MHZ, 651 / 160, 0.023, ['see stm32l4r5 cmsis-nn']),
    ],
    sources: ['ST DS13737 (STM32U575 datasheet): 160 MHz, 786 KB SRAM, 2 MB flash', 'MLPerf Tiny v1.2 results (see the kernel models)'],
  },
  {
    name: 'ra6m4',
    description: 'Renesas EK-RA6M4: RA6M4 Cortex-M33 @ 200 MHz, 256 KB SRAM, 1 MB flash (CMSIS-NN kernels by default)',
    kind: 'mcu',
    macsPerSec: { fp32: 0.3 * 200 * MHZ, fp16: 0.25 * 200 * MHZ, int8: 0.6 * 200 * MHZ },
    // roofline fallback: the active power spread over the sustained MAC rate
    energyPerMac: { fp32: 0.065 / (0.3 * 200 * MHZ), fp16: 0.065 / (0.25 * 200 * MHZ), int8: 0.065 / (0.6 * 200 * MHZ) },
    onchip: { what: 'SRAM', bytes: 256 * KB, bandwidth: 800 * MB, energyPerByte: 0 },
    offchip: { what: 'embedded code flash (flash cache)', bytes: 1024 * KB, bandwidth: 400 * MB, energyPerByte: 0 },
    weights: 'offchip',
    staticPowerW: 0.065,
    layerOverheadS: 5000 / (200 * MHZ),
    kernels: [
      kernelModel('cmsis-nn', 'TFLite Micro + CMSIS-NN int8 kernels (what Renesas ships for RA): the STM32L4R5 CMSIS-NN model scaled by CoreMark/MHz (Cortex-M33: 4.02)',
        CMSISNN_M4, 200 * MHZ, 4.02, 0.065, [
          'Arm Cortex-M33 processor: 4.02 CoreMark/MHz',
          'Renesas RA6M4 product page: 200 MHz, 99 uA/MHz running CoreMark from flash (x 3.3 V -> ~65 mW)',
          'no published MLPerf Tiny result for this board: the estimate is unchecked',
        ]),
      kernelModel('x-cube-ai', 'X-CUBE-AI-class kernels (not available for RA parts; for comparison only)',
        XCUBEAI_M4, 200 * MHZ, 4.02, 0.065, ['see stm32l4r5 x-cube-ai']),
    ],
    sources: ['Renesas RA6M4 group datasheet: 200 MHz Cortex-M33, 256 KB SRAM, 1 MB flash'],
  },
  {
    name: 'esp32-s3',
    description: 'Espressif ESP32-S3, Xtensa LX7 @ 240 MHz (one core), 512 KB SRAM, 8 MB octal flash (ESP-NN / ESP-DL)',
    kind: 'mcu',
    // The LX7 "PIE" 128-bit SIMD extension does 16 int8 MACs per instruction; ESP-NN/ESP-DL conv
    // kernels sustain roughly 2 MAC/cycle on one core including data movement (Espressif ESP-NN
    // README benchmarks, ESP-DL docs). fp32: single-precision FPU, ~0.5 MAC/cycle. No fp16 math.
    macsPerSec: { fp32: 0.5 * 240 * MHZ, fp16: 0.4 * 240 * MHZ, int8: 2 * 240 * MHZ },
    // ESP32-S3 datasheet: ~40-50 mA for one core at 240 MHz (radio off) vs ~20 mA with the CPU
    // mostly idle: ~25 mA * 3.3 V ~ 80 mW dynamic ~ 0.35 nJ per cycle.
    energyPerMac: { fp32: 0.35 * nJ / 0.5, fp16: 0.35 * nJ / 0.4, int8: 0.35 * nJ / 2 },
    // Internal SRAM 128-bit PIE loads at 240 MHz ~ 3.8 GB/s peak, ~2 GB/s sustained. Weights in
    // external octal SPI flash through the 32 KB cache: 80 MHz DTR octal ~ 160 MB/s raw, ~100 MB/s.
    onchip: { what: 'internal SRAM', bytes: 512 * KB, bandwidth: 2 * GHZ, energyPerByte: 3 * pJ },
    offchip: { what: 'external octal SPI flash (cached)', bytes: 8 * MB, bandwidth: 100 * MB, energyPerByte: 100 * pJ },
    weights: 'offchip',
    staticPowerW: 0.066, // ~20 mA * 3.3 V (approximate)
    layerOverheadS: 10e-6,
    sources: [
      'Espressif ESP32-S3 datasheet v1.x: clocks, SRAM, current consumption',
      'Espressif ESP-NN (github.com/espressif/esp-nn) and ESP-DL documentation: optimized int8 kernels',
      'ESP32-S3 Technical Reference Manual: PIE SIMD instructions',
    ],
  },
  {
    name: 'cortex-a53',
    description: 'Raspberry Pi 3 Model B (alias rpi3), BCM2837 4x Cortex-A53 @ 1.2 GHz, 1 GB LPDDR2 (XNNPACK-class NEON kernels, 4 threads)',
    kind: 'cpu',
    // A53 NEON datapath is 64 bits wide: 2 fp32 FMA/cycle/core -> 9.6 G peak on 4 cores;
    // well-tuned kernels sustain ~50%. int8 (ARMv8.0, no SDOT): SMLAL on 16-bit lanes, 4 MAC/cycle/
    // core peak -> 19.2 G, ~40% sustained. No fp16 arithmetic in ARMv8.0: fp16 runs as fp32.
    macsPerSec: { fp32: 4.8 * GHZ, fp16: 4.3 * GHZ, int8: 7.7 * GHZ },
    // Whole-board power: ~1.4 W idle, ~3.7 W with 4 cores loaded (Raspberry Pi power measurements,
    // e.g. raspi.tv / Tom's Hardware reviews): ~2.3 W dynamic / sustained MAC rate.
    energyPerMac: { fp32: 2.3 / (4.8 * GHZ), fp16: 2.3 / (4.3 * GHZ), int8: 2.3 / (7.7 * GHZ) },
    // "on-chip": the shared 512 KB L2 cache. LPDDR2-900 32-bit: 3.6 GB/s theoretical, ~2 GB/s
    // measured (STREAM-like copy). DRAM energy ~160 pJ/B (Horowitz 2014, DDR3 64-bit access).
    onchip: { what: 'L2 cache (shared)', bytes: 512 * KB, bandwidth: 10 * GHZ, energyPerByte: 10 * pJ },
    offchip: { what: 'LPDDR2 DRAM', bytes: 1024 * MB, bandwidth: 2 * GHZ, energyPerByte: 160 * pJ },
    weights: 'offchip',
    staticPowerW: 1.4,
    layerOverheadS: 20e-6,
    sources: [
      'Arm Cortex-A53 Technical Reference Manual: NEON 64-bit datapath',
      'Raspberry Pi 3B product brief; measured board power (idle ~1.4 W, 4-core load ~3.7 W)',
      'Horowitz, ISSCC 2014: DRAM and cache access energy',
    ],
  },
  {
    name: 'cortex-a72',
    description: 'Raspberry Pi 4 Model B (alias rpi4), BCM2711 4x Cortex-A72 @ 1.5 GHz, LPDDR4-3200 (XNNPACK-class NEON kernels, 4 threads)',
    kind: 'cpu',
    // A72: two 128-bit NEON pipes -> 8 fp32 FMA/cycle/core, 48 G peak on 4 cores; Linpack on a Pi 4
    // reaches ~13.5 GFLOPS (~6.7 GMAC/s); tuned conv kernels ~10 GMAC/s. int8 (ARMv8.0, no SDOT):
    // SMLAL 16-bit lanes, 16 MAC/cycle/core peak, ~20 GMAC/s sustained. No fp16 arithmetic.
    macsPerSec: { fp32: 10 * GHZ, fp16: 9 * GHZ, int8: 20 * GHZ },
    // Board power ~2.7 W idle, ~6.4 W 4-core load (Raspberry Pi 4 reviews): ~3.7 W dynamic.
    energyPerMac: { fp32: 3.7 / (10 * GHZ), fp16: 3.7 / (9 * GHZ), int8: 3.7 / (20 * GHZ) },
    // 1 MB shared L2. LPDDR4-3200 32-bit: 12.8 GB/s theoretical, ~4.5 GB/s measured copy.
    onchip: { what: 'L2 cache (shared)', bytes: 1024 * KB, bandwidth: 20 * GHZ, energyPerByte: 8 * pJ },
    offchip: { what: 'LPDDR4 DRAM', bytes: 2048 * MB, bandwidth: 4.5 * GHZ, energyPerByte: 60 * pJ },
    weights: 'offchip',
    staticPowerW: 2.7,
    layerOverheadS: 15e-6,
    sources: [
      'Arm Cortex-A72 Software Optimization Guide: two 128-bit ASIMD pipes',
      'Raspberry Pi 4B product brief; published HPL (~13.5 GFLOPS) and board power measurements',
      'JEDEC LPDDR4 (~5-8 pJ/bit I/O+core, approximate)',
    ],
  },
  {
    name: 'browser-wasm-simd',
    description: 'One browser thread running edgec wasm SIMD kernels on a laptop-class x86/Arm core (host-calibrated)',
    kind: 'browser',
    // Defaults (used when there is no wasm measurement to calibrate from): wasm SIMD 128 has no FMA
    // (relaxed-simd aside): f32x4.mul + f32x4.add, ~4 fp32 MAC/cycle at ~3 GHz with loads, about
    // half of that sustained -> 6 GMAC/s. int8 via i32x4.dot_i16x8_s: ~2x. No fp16 in wasm SIMD.
    // With `calibrate: 'host-wasm'`, these rates are replaced by the host's measured throughput.
    macsPerSec: { fp32: 6 * GHZ, fp16: 5 * GHZ, int8: 12 * GHZ },
    // One active laptop core ~4-6 W above package idle: ~0.8 nJ/MAC fp32 (rough).
    energyPerMac: { fp32: 5 / (6 * GHZ), fp16: 5 / (5 * GHZ), int8: 5 / (12 * GHZ) },
    onchip: { what: 'L2 cache (per core)', bytes: 1024 * KB, bandwidth: 50 * GHZ, energyPerByte: 10 * pJ },
    offchip: { what: 'DDR4/LPDDR5 DRAM', bytes: 4096 * MB, bandwidth: 15 * GHZ, energyPerByte: 60 * pJ },
    weights: 'offchip',
    staticPowerW: 2,
    layerOverheadS: 2e-6,
    calibrate: 'host-wasm',
    sources: [
      'WebAssembly SIMD proposal (fixed-width 128-bit, i32x4.dot_i16x8_s)',
      'Rates calibrated from this host\'s measured wasm per-layer times when available',
    ],
  },
  {
    name: 'jetson-nano',
    description: 'NVIDIA Jetson Nano GPU: 128 Maxwell CUDA cores @ 921.6 MHz, 4 GB LPDDR4 25.6 GB/s, 10 W mode',
    kind: 'gpu',
    // NVIDIA: 472 GFLOPS fp16 peak (= 236 GMAC/s), fp32 half of that. Maxwell has no DP4A, so
    // int8 runs at the fp16 rate at best. Sustained ~50% on conv layers (TensorRT benchmarks).
    macsPerSec: { fp32: 59 * GHZ, fp16: 118 * GHZ, int8: 118 * GHZ },
    // 10 W mode: ~1.25 W idle (module), ~6 W GPU+DRAM dynamic at full load -> ~100 pJ per sustained
    // fp32 MAC, ~50 pJ fp16.
    energyPerMac: { fp32: 100 * pJ, fp16: 50 * pJ, int8: 50 * pJ },
    // "on-chip": 256 KB L2 (+ 64 KB shared memory per SM). LPDDR4 25.6 GB/s peak, ~20 sustained.
    onchip: { what: 'GPU L2 cache', bytes: 256 * KB, bandwidth: 100 * GHZ, energyPerByte: 5 * pJ },
    offchip: { what: 'LPDDR4 DRAM (shared with CPU)', bytes: 4096 * MB, bandwidth: 20 * GHZ, energyPerByte: 50 * pJ },
    weights: 'offchip',
    staticPowerW: 1.25,
    layerOverheadS: 20e-6, // CUDA kernel launch and sync on Tegra
    sources: [
      'NVIDIA Jetson Nano Developer Kit datasheet / product page (472 GFLOPS fp16, 25.6 GB/s, 5/10 W modes)',
      'NVIDIA Maxwell architecture whitepaper (no DP4A before Pascal GP10x)',
    ],
  },
  {
    name: 'zynq-7020',
    description: 'Xilinx Zynq-7020 programmable logic (PYNQ-Z2): 220 DSP48E1, 140 BRAM36 (630 KB), 100 MHz HLS dataflow',
    kind: 'fpga',
    // DSP48E1: one 25x18 multiply-add per cycle. int8 MAC: 1 DSP -> 220 MAC/cycle; fp16 MAC ~2 DSP
    // (+LUTs) -> 110; fp32 MAC ~5 DSP (3 mult + 2 add, Vivado floating-point IP) -> 44. An
    // hls4ml-style design with reuse and pipeline bubbles reaches ~50% of that at 100 MHz.
    macsPerSec: { fp32: 0.5 * 44 * 100 * MHZ, fp16: 0.5 * 110 * 100 * MHZ, int8: 0.5 * 220 * 100 * MHZ },
    // Xilinx Power Estimator (XPE) order of magnitude for 7-series at 100 MHz: ~1 mW per busy DSP
    // -> ~10 pJ per int8 MAC; fp32 (5 DSPs + LUT/FF logic) ~80 pJ; fp16 ~25 pJ.
    energyPerMac: { fp32: 80 * pJ, fp16: 25 * pJ, int8: 10 * pJ },
    // BRAM: 140 blocks x 2 ports x 36 bits at 100 MHz ~ 126 GB/s aggregate. DDR3 on PYNQ-Z2:
    // 512 MB, 16-bit @ 1066 Mb/s = 2.1 GB/s.
    onchip: { what: 'block RAM (BRAM36 x140)', bytes: 630 * KB, bandwidth: 126 * GHZ, energyPerByte: 2 * pJ },
    offchip: { what: 'DDR3 (PS side, via HP ports)', bytes: 512 * MB, bandwidth: 2.1 * GHZ, energyPerByte: 150 * pJ },
    weights: 'onchip',
    staticPowerW: 1.5, // PS idle + PL static on a PYNQ-Z2 (~1.5 W of its ~2-2.5 W board power)
    layerOverheadS: 1e-6, // pipeline fill between dataflow stages (rough)
    sources: [
      'Xilinx DS190 Zynq-7000 overview: XC7Z020 has 220 DSP48E1 slices, 140 36Kb BRAMs, 53,200 LUTs',
      'Xilinx UG479 (7-series DSP48E1 user guide); Floating-Point Operator IP (PG060) DSP usage',
      'TUL PYNQ-Z2 reference manual: 512 MB DDR3, 16-bit',
      'Duarte et al., hls4ml, JINST 13 P07027 (2018): reuse factor vs DSP use',
    ],
  },
];

/** Names of the built-in devices, in table order. */
export function deviceNames(): string[] {
  return DEVICES.map((d) => d.name);
}

/** Other names of built-in devices (board names for the same profile). */
export const DEVICE_ALIASES: Readonly<Record<string, string>> = { rpi4: 'cortex-a72', rpi3: 'cortex-a53' };

/** The built-in device called `name` (or one of its aliases), or undefined. */
export function builtinDevice(name: string): DeviceProfile | undefined {
  const n = name.toLowerCase();
  return DEVICES.find((d) => d.name === (DEVICE_ALIASES[n] ?? n));
}

/** True when a --device value names a file rather than a built-in device. */
function looksLikePath(s: string): boolean {
  return /[\\/]/.test(s) || /\.json$/i.test(s);
}

/**
 * Resolves a --device value: a built-in name, or the path of a JSON file holding a DeviceProfile.
 * @param spec the value given by the user
 * @throws EdgecError 'usage' for an unknown name (listing the known ones), 'invalid' for a bad file
 */
export function resolveDevice(spec: string): DeviceProfile {
  const b = builtinDevice(spec);
  if (b) return b;
  if (looksLikePath(spec) || fs.existsSync(spec)) return loadDeviceFile(spec);
  throw usage(`unknown device "${spec}"`, { hint: `known devices: ${deviceNames().join(', ')}; or give the path of a device JSON file` });
}

/** Largest device JSON file accepted. */
const MAX_DEVICE_FILE = 1024 * 1024;

/**
 * Reads and validates a custom device profile (same fields as DeviceProfile; `sources` optional).
 * @param file path of the JSON file
 */
export function loadDeviceFile(file: string): DeviceProfile {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw invalid('device profile is not a file', { file });
    if (st.size > MAX_DEVICE_FILE) throw invalid('device profile file is too large', { file });
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw usage(`unknown device "${file}" (no such file)`, { hint: `known devices: ${deviceNames().join(', ')}` });
    }
    throw e;
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw invalid('device profile is not valid JSON', { file });
  }
  return validateDevice(obj, file);
}

/** Fields of a device JSON file (DeviceProfile), for the unknown-field check. */
const DEVICE_FIELDS = ['name', 'description', 'kind', 'macsPerSec', 'energyPerMac', 'onchip', 'offchip', 'weights',
  'staticPowerW', 'layerOverheadS', 'calibrate', 'sources', 'kernels'] as const;
const KERNEL_FIELDS = ['name', 'description', 'clockHz', 'cyclesPerMac', 'cyclesPerOutput', 'cyclesPerLayer', 'precisionFactor',
  'activePowerW', 'sources'] as const;
const MAC_CLASSES = ['conv', 'conv-narrow', 'pointwise', 'depthwise', 'dense'] as const;

/**
 * Checks an object against the DeviceProfile schema and returns a clean copy. Every problem is
 * reported at once, in one line (`device profile: 3 problems: ...`), so a user fixes a file in one go.
 * @param obj parsed JSON
 * @param file file name for error messages
 */
export function validateDevice(obj: unknown, file = '<device>'): DeviceProfile {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw invalid('device profile must be a JSON object', { file });
  const o = obj as Record<string, unknown>;
  const problems: string[] = [];
  const bad = (field: string, want: string): void => void problems.push(`field "${field}" must be ${want}`);
  for (const k of Object.keys(o)) {
    if (!(DEVICE_FIELDS as readonly string[]).includes(k)) problems.push(`unknown field "${k}"`);
  }
  const str = (k: string, def?: string): string => {
    const v = o[k];
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'string' || v.length === 0 || v.length > 200) {
      bad(k, v === undefined ? 'given (a non-empty string)' : 'a non-empty string (at most 200 characters)');
      return def ?? 'x';
    }
    return v;
  };
  const pos = (v: unknown, field: string, allowZero = false): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      bad(field, `${v === undefined ? 'given (' : ''}${allowZero ? 'a finite number >= 0' : 'a finite number > 0'}${v === undefined ? ')' : ''}`);
      return 1;
    }
    return v;
  };
  const obj1 = (k: string, want: string): Record<string, unknown> | undefined => {
    const v = o[k];
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      bad(k, `${v === undefined ? 'given: ' : ''}${want}`);
      return undefined;
    }
    return v as Record<string, unknown>;
  };
  const perPrec = (k: string, allowZero: boolean): Record<Precision, number> => {
    const r = obj1(k, 'an object {fp32, fp16, int8}');
    if (!r) return { fp32: 1, fp16: 1, int8: 1 };
    return {
      fp32: pos(r['fp32'], `${k}.fp32`, allowZero),
      fp16: pos(r['fp16'] ?? r['fp32'], `${k}.fp16`, allowZero),
      int8: pos(r['int8'] ?? r['fp32'], `${k}.int8`, allowZero),
    };
  };
  const tier = (k: string): MemoryTier => {
    const r = obj1(k, 'an object {what, bytes, bandwidth, energyPerByte}');
    if (!r) return { what: k, bytes: 1, bandwidth: 1, energyPerByte: 0 };
    let what = r['what'] === undefined ? k : r['what'];
    if (typeof what !== 'string' || what.length > 200) {
      bad(`${k}.what`, 'a string');
      what = k;
    }
    return {
      what: what as string,
      bytes: pos(r['bytes'], `${k}.bytes`),
      bandwidth: pos(r['bandwidth'], `${k}.bandwidth`),
      energyPerByte: pos(r['energyPerByte'], `${k}.energyPerByte`, true),
    };
  };
  const name = str('name');
  if (typeof o['name'] === 'string' && !/^[A-Za-z0-9._-]+$/.test(name)) bad('name', 'letters, digits, ".", "_" or "-"');
  const kind = str('kind', 'cpu');
  if (!['mcu', 'cpu', 'gpu', 'fpga', 'browser'].includes(kind)) bad('kind', 'one of mcu, cpu, gpu, fpga, browser');
  const weights = str('weights', 'offchip');
  if (weights !== 'onchip' && weights !== 'offchip') bad('weights', '"onchip" or "offchip"');
  const sources = o['sources'] === undefined ? [] : o['sources'];
  if (!Array.isArray(sources) || !sources.every((s) => typeof s === 'string')) bad('sources', 'a list of strings');
  const dev: DeviceProfile = {
    name,
    description: str('description', name),
    kind: kind as DeviceProfile['kind'],
    macsPerSec: perPrec('macsPerSec', false),
    energyPerMac: perPrec('energyPerMac', true),
    onchip: tier('onchip'),
    offchip: tier('offchip'),
    weights: weights as DeviceProfile['weights'],
    staticPowerW: pos(o['staticPowerW'] ?? 0, 'staticPowerW', true),
    layerOverheadS: pos(o['layerOverheadS'] ?? 0, 'layerOverheadS', true),
    sources: Array.isArray(sources) ? (sources as string[]) : [],
  };
  if (o['calibrate'] !== undefined) {
    if (o['calibrate'] !== 'host-wasm') bad('calibrate', '"host-wasm"');
    else dev.calibrate = 'host-wasm';
  }
  if (o['kernels'] !== undefined) {
    const ks = o['kernels'];
    if (!Array.isArray(ks) || ks.length === 0) bad('kernels', 'a non-empty list of kernel models');
    else {
      dev.kernels = ks.map((k0, i): KernelModel => {
        const f = `kernels[${i}]`;
        if (!k0 || typeof k0 !== 'object' || Array.isArray(k0)) {
          bad(f, 'an object {name, clockHz, cyclesPerMac, cyclesPerOutput, cyclesPerLayer, precisionFactor, activePowerW}');
          return { name: 'x', description: '', clockHz: 1, cyclesPerMac: { conv: 1, 'conv-narrow': 1, pointwise: 1, depthwise: 1, dense: 1 }, cyclesPerOutput: 0, cyclesPerLayer: 0, precisionFactor: { fp32: 1, fp16: 1, int8: 1 }, activePowerW: 0, sources: [] };
        }
        const k = k0 as Record<string, unknown>;
        for (const key of Object.keys(k)) if (!(KERNEL_FIELDS as readonly string[]).includes(key)) problems.push(`unknown field "${f}.${key}"`);
        const kname = typeof k['name'] === 'string' && /^[a-z0-9._-]+$/.test(k['name']) ? k['name'] : (bad(`${f}.name`, 'lower-case letters, digits, ".", "_" or "-"'), 'x');
        const cpm0 = k['cyclesPerMac'] && typeof k['cyclesPerMac'] === 'object' && !Array.isArray(k['cyclesPerMac'])
          ? k['cyclesPerMac'] as Record<string, unknown> : (bad(`${f}.cyclesPerMac`, `an object {${MAC_CLASSES.join(', ')}}`), {});
        const cpm = Object.fromEntries(MAC_CLASSES.map((c) => [c, pos(cpm0[c], `${f}.cyclesPerMac.${c}`)])) as KernelModel['cyclesPerMac'];
        const pf0 = k['precisionFactor'] && typeof k['precisionFactor'] === 'object' && !Array.isArray(k['precisionFactor'])
          ? k['precisionFactor'] as Record<string, unknown> : (bad(`${f}.precisionFactor`, 'an object {fp32, fp16, int8}'), {});
        const src = k['sources'] === undefined ? [] : k['sources'];
        if (!Array.isArray(src) || !src.every((x) => typeof x === 'string')) bad(`${f}.sources`, 'a list of strings');
        return {
          name: kname,
          description: typeof k['description'] === 'string' ? k['description'] : kname,
          clockHz: pos(k['clockHz'], `${f}.clockHz`),
          cyclesPerMac: cpm,
          cyclesPerOutput: pos(k['cyclesPerOutput'] ?? 0, `${f}.cyclesPerOutput`, true),
          cyclesPerLayer: pos(k['cyclesPerLayer'] ?? 0, `${f}.cyclesPerLayer`, true),
          precisionFactor: { fp32: pos(pf0['fp32'], `${f}.precisionFactor.fp32`), fp16: pos(pf0['fp16'], `${f}.precisionFactor.fp16`), int8: pos(pf0['int8'], `${f}.precisionFactor.int8`) },
          activePowerW: pos(k['activePowerW'], `${f}.activePowerW`, true),
          sources: Array.isArray(src) ? (src as string[]) : [],
        };
      });
    }
  }
  if (problems.length > 0) {
    throw invalid(`device profile: ${problems.length === 1 ? '' : `${problems.length} problems: `}${problems.join('; ')}`, {
      file, hint: 'print a built-in profile as a template with `edgec devices NAME --json`',
    });
  }
  return dev;
}
