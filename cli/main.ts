/**
 * `edgec` command line (CLI.md). `runCli(argv)` returns the exit code and never calls
 * process.exit, so tests can run it in-process. Every failure prints exactly one line
 * `edgec: error: ...` on stderr (a stack trace only with --verbose), with the exit code of its
 * error kind (compiler/errors.ts EXIT_CODES).
 */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_LIMITS, EXIT_CODES, EdgecError, Limits, limit, sanitize, usage } from '../compiler/errors.js';
import { CliIO, cmdCompile, cmdEval, cmdInspect, cmdRun } from './commands.js';
import { cmdProfile, cmdReport, DEFAULT_REPORT_DEVICE } from './analyze.js';
import { LIMIT_FLAGS, bindOption, collect, edgecVersion, emptyOptionalOption, inputShapeOption, limitsFrom, maxInputShapeOption, parsePositiveInt, parseRatio, seqShapeOption } from './options.js';

/** `run` / `eval --threads N`. */
const THREADS_HELP = 'wasm: run on N threads (model-threads.wasm over a shared memory; a model file is compiled with --threads N, an artifact needs it)';
import { COMPILE_TARGETS, RUN_TARGETS } from './targets.js';
import { RANDOM_CALIB_SAMPLES } from './build.js';
import { DEFAULT_GUARD_LOSS, parseGuardLoss } from './guard.js';
import { GUARD_FRACTION, GUARD_MIN_HELD } from '../quantize/guard.js';
import { CALIBRATORS } from '../quantize/calibrate.js';
import { deviceNames } from '../profile/index.js';
import { cmdDevices } from './devices.js';

const EXIT_HELP = `
Data files: .pb (one ONNX TensorProto) or .npy (NumPy), by extension. A file whose first axis is
larger than the model's batch size holds many samples: they run one batch at a time and the
outputs are stacked along the first axis.

Exit codes:
  0   success
  2   usage: bad command line or option value
  3   invalid input: malformed model, data file or graph
  4   unsupported: valid input edgec cannot handle (op, dtype, opset, target, option)
  5   limit exceeded (see the --max-* options)
  6   security violation (path escapes the model folder, symbolic link output)
  7   numeric: NaN weights (+-Inf constants are valid), NaN/Inf data, bad calibration set
  8   output I/O: cannot write, or the output path is a file / the input's folder / not an edgec folder /
      an artifact of another model, target or precision (compile --force replaces it)
  70  internal error (a bug in edgec; please report it with --verbose output)
Failures print one line "edgec: error: ..." on stderr; --verbose adds the stack trace.
Output folders are written atomically: a failed or killed run leaves the previous output or none.
`;

/** Standard streams. */
const STDIO: CliIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  errIsTTY: !!process.stderr.isTTY,
};

const COMPILE_HELP = `
Pipeline: optimization passes for the target -> pruning (--prune) -> quantization (--int8/--fp16/--int4)
-> the target's code. A summary on stderr lists the passes, pruning (nonzero weights, MACs) and
quantization results (weight bytes before/after, float islands: layers computed in float).

Calibration (--int8): --calib FILE holds calibration inputs with samples along the first axis (e.g.
[256,1,8,8] for an input of [1,1,8,8]); they run through the float model one batch of the model's
batch size at a time (a progress bar is drawn when stderr is a terminal). For several graph inputs,
repeat --calib once per input in graph-input order. --calib-random calibrates on ${RANDOM_CALIB_SAMPLES} samples of
seeded N(0,1) noise instead (explicit opt-in; smoke tests only). --int8 without either is a usage error.
An empty calibration set or one with NaN/Inf exits 7 (numeric); a mis-shaped one exits 3 (invalid).
--keep-float: "auto" (= auto:0.005) keeps the fewest layers in float that bring the top-1
disagreement (classifiers) or relative squared error against float to at most LOSS; or give node names.
--explain prints the per-layer SNR table on stderr, the stream of --print-after and the summary.
int8 check (always, with --calib or --calib-random): ${Math.round(GUARD_FRACTION * 100)}% of the calibration samples (evenly
spread, at least ${GUARD_MIN_HELD}) are held out of calibration and the int8 model is compared with float on them;
one line "int8 check on N held-out samples: top-1 agreement A% with float (SNR S dB)" (classifier
outputs: [N,C] class scores, C <= 1000 and not an input's size, or Softmax) or "SNR S dB against float
(relative error E%)" is printed and stored in manifest.json (quantization.check). When the output loss
(1 - agreement, or the relative squared error) exceeds --guard-loss (default ${DEFAULT_GUARD_LOSS}), a warning names the
worst layers and prints the command that fixes it (the same command with --keep-float set to the layers
--keep-float auto picks, checked on the held-out samples). --keep-float auto is greedy: it keeps float the
layer whose float version lowers the measured output loss most, re-measures, and repeats; the summary
says "kept float by --keep-float auto" (named layers: "kept float on request").

Artifact: DIR/manifest.json and DIR/model.onnx always; wasm adds model.wasm, model.mjs, model.d.ts and
model_abi.h (static shapes: the memory offsets/sizes of the inputs and outputs as C #defines).
--wasm-simd off builds model.wasm from the scalar kernel library: no SIMD instruction and no import,
for engines without wasm SIMD (WAMR, wasm3, wasm2c); manifest "wasm_simd" records the choice.
--threads N (wasm, static shapes) also writes model-threads.wasm: large convolutions split in N parts
over one shared memory; model.mjs create({ threads: N }) runs it on N - 1 workers plus the caller
(a page must be cross-origin isolated: COOP same-origin + COEP require-corp); model.wasm is unchanged.
int8 artifacts (--wasm-simd on) also hold model-relaxed.wasm, the same model on the relaxed-SIMD int8
kernels: model.mjs loads it where the engine correctly runs relaxed SIMD and is expected to gain (Arm),
or wherever it runs correctly with create({ relaxedSimd: true }); model.wasm otherwise (same bits).
--wasm-simd relaxed builds model.wasm itself on those kernels (engines with relaxed SIMD only).
Manifest "wasm_relaxed_simd": "twin", "only" or false.
model.onnx is the transformed model as standard ONNX (int8: QDQ form, per-channel weights need opset
>= 13; fp16: float16 weights with Casts; int4: blocked DequantizeLinear, opset 21): ONNX Runtime runs
it, and \`edgec run/eval/profile DIR\` read it (--target ref on an int8 artifact runs the integer graph
lowered from it, bit-identical to the int8 wasm kernels). --emit-onnx is accepted for scripts; the file
is written with or without it.
The wasm target compiles fp32 and int8 graphs (int8: integer kernels). --fp16 and --int4 compile for
wasm and webgpu with the weights stored as f16 / packed int4 blocks (model.wasm, weights.bin) and
expanded to f32 once at load; fp16 activations are rounded to f16 after every op, like the reference. An op or
dtype without a wasm lowering is an error naming the node and op (exit 4), never a silent fallback.
The hls target compiles fp32, int8, fp16 (Vitis half storage) and int4 (4-bit weight ROMs + block
scales) graphs; \`edgec run DIR --target hls\` runs the project's C simulation with g++.
The c target writes a C++14 package for microcontrollers (model.h/model.cpp, const weights, one static
arena planned at compile time, the hls kernels; no heap, exceptions or RTTI) with a bare-metal mcu/
folder for the Arm MPS2 boards; \`edgec run DIR --target c\` builds it with g++,
\`--device cortex-m4|cortex-m7\` with arm-none-eabi-gcc under qemu-system-arm (mps2-an386 / mps2-an500)
and prints the emulated instructions per inference. manifest.json records flash_bytes and ram_bytes
measured with arm-none-eabi-size when the toolchain is installed.
`;

const SHAPES_HELP = `
Input shapes: --input-shape NAME=DIMS (repeatable) fixes an input's symbolic dims; a NAME the model
lacks is a usage error (exit 2). A symbolic first (batch) dim defaults to 1; any other symbolic dim
without a size is an error naming it (exit 4).
`;

const BIND_HELP = `
Bound inputs: --bind NAME=VALUE (repeatable) fixes input NAME to a constant: one number (the input's
shape with one element) or a comma list with one number per element, in the input's dtype. The input
leaves the graph (and the artifact's signature; data files are given for the other inputs only),
what follows is constant-folded and an If on it is replaced by the branch it takes, e.g.
\`edgec compile vad.onnx --bind sr=16000\`. An unknown NAME or text that is not a number exits 2; a
wrong element count or a value out of range for an integer input exits 3.
`;

/** Help on input shapes for commands that read data (`what`: "--inputs files" / "--data file"). */
function dataShapesHelp(what: string): string {
  return `
Input shapes: --input-shape NAME=DIMS (repeatable) fixes an input's symbolic dims; a NAME the model
lacks is a usage error (exit 2). Without it, a model's symbolic dims take their sizes from the
${what}, except the first (batch) dim, which is 1 unless --input-shape sets it: a file with more
samples along its first axis than the batch size runs one batch at a time and the outputs are
stacked (e.g. a [8,3,H,W] file on an [N,3,H,W] model runs 8 batches of one). A symbolic dim that gets
no size either way is an error naming the dim and the input (exit 4). An artifact's input shapes
are fixed when it is compiled.
`;
}

const PROFILE_HELP = `
Devices: ${deviceNames().join(', ')}, or the path of a device JSON file (default: all built-in ones).
Device latency and energy are estimates, not measurements: the MCU boards (stm32l4r5, stm32h7a3,
stm32u575, ra6m4) use a kernel library's cycle model calibrated on published MLPerf Tiny results
(README: "Profiler vs MLPerf Tiny"), the others a roofline over datasheet figures.
Measured latency is the median host time of the wasm build (--measure wasm, the default), of the
reference interpreter (--measure ref), or none (--measure none).
--emulate cortex-m4|cortex-m7 (c-target artifacts): builds the package with arm-none-eabi-gcc, runs
one inference on seeded inputs under qemu-system-arm -icount and prints the instruction count
(JSON: "emulated") below the device estimates.
`;

const REPORT_HELP = `
Sweep (default): precision=fp32,int8,fp16,int4 x prune=0,0.25,0.5 x target=wasm. Change an axis with
--sweep AXIS=V,V (repeatable), e.g. --sweep precision=fp32,int8 --sweep prune=0,0.5.
int8 needs --calib FILE (left out of the default sweep without it). Each configuration is compiled,
its accuracy measured on --data/--labels on its target (the reference interpreter where the target
cannot compile it: the error is recorded), size_bytes is the bytes of the files the target emits
and gzip_bytes the same compressed (what pruning saves), latency_ms the wasm time on this host in
--rounds interleaved rounds (median, with its spread), est_latency_ms and energy_mj the estimates for
--device (default ${DEFAULT_REPORT_DEVICE}). Latencies within their spread or 5% are ties, so the Pareto
front does not follow timing noise. Pruned configurations use --prune-mode channel unless told
otherwise. Each row carries the edgec compile command that rebuilds it.
Writes DIR/report.json, report.md, report.html (default ./<model>.report/).
`;

/** Strips commander's "error: " prefix and folds its message to one line. */
function commanderLine(msg: string): string {
  return sanitize(msg.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').trim(), 400);
}

/** Converts anything thrown into an EdgecError (RangeError stack overflow -> limit). */
function toEdgecError(e: unknown): EdgecError {
  if (e instanceof EdgecError) return e;
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return limit('input is nested too deeply (stack exhausted)', { hint: 'the model or data file is malformed or hostile' });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new EdgecError('internal', `internal error: ${msg}`, { hint: 'this is a bug in edgec; rerun with --verbose and report it' });
}

/** Builds the commander program; actions call into commands.ts. */
function buildProgram(io: CliIO, version: string, captured: { msg?: string }, argv: readonly string[] = []): Command {
  const program = new Command('edgec');
  program
    .description('Compile trained neural networks (ONNX, TF.js) into WebAssembly SIMD, WebGPU and FPGA-HLS artifacts.')
    .version(version, '-V, --version', 'print the edgec version')
    .option('--verbose', 'print stack traces with errors')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s) => {
        captured.msg = s;
      },
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', EXIT_HELP);
  for (const f of LIMIT_FLAGS) {
    const key = f.key;
    program.addOption(
      new Option(`${f.flag} <n>`, `limit: ${f.what} (default ${defaultOf(key)})`).argParser(parsePositiveInt),
    );
  }
  const limitsOf = (cmd: Command): Limits => limitsFrom(cmd.optsWithGlobals());

  program
    .command('inspect')
    .description('ops, opsets, inputs/outputs, per-node output shapes, params, MACs and weight bytes')
    .argument('<model>', '.onnx model or artifact folder')
    .option('--json', 'machine-readable output: {"macs","params","weights_bytes","ops","nodes",...}')
    .option('--wide', 'do not fit the node table to 100 columns (full names and shapes)')
    .addOption(inputShapeOption())
    .addHelpText('after', SHAPES_HELP)
    .action((model: string, o: { json?: boolean; wide?: boolean; inputShape?: Record<string, number[]> }, cmd: Command) => cmdInspect(model, o, limitsOf(cmd), io));

  program
    .command('run')
    .description('run a model or artifact on input data files; writes DIR/output_K.pb in graph-output order')
    .argument('<model>', '.onnx model or artifact folder')
    .requiredOption('--inputs <files...>', 'input data files (.pb/.npy), in graph-input order')
    .addOption(new Option('--target <t>', 'where to run: ref (reference interpreter; on an int8 artifact its integer graph), wasm/webgpu (an artifact\'s model.mjs, or the model compiled in memory) or hls (C simulation) or c (the C package with the host C++ compiler, or --device); default: an artifact\'s own target (manifest.json "target"), ref for a model file').choices([...RUN_TARGETS]))
    .requiredOption('--out <dir>', 'output folder (written atomically)')
    .option('--device <name>', '--target c: build with arm-none-eabi-gcc and run under qemu-system-arm (cortex-m4: mps2-an386, cortex-m7: mps2-an500); prints the emulated instructions per inference')
    .option('--npy', 'also write output_K.npy')
    .option('--threads <n>', THREADS_HELP, parsePositiveInt)
    .addOption(inputShapeOption())
    .addOption(bindOption())
    .addHelpText('after', dataShapesHelp('--inputs files') + BIND_HELP)
    .action((model: string, o, cmd: Command) => cmdRun(model, o, limitsOf(cmd), io));

  program
    .command('compile')
    .description('optimize a model and write an artifact folder (default ./<model-name>.<target>/)')
    .argument('<model>', '.onnx model')
    .option('-o, --output <dir>', 'artifact folder (written atomically; replaces only a previous edgec artifact)')
    .addOption(new Option('--target <t>', 'code generator ("onnx": only the optimized model.onnx)').choices([...COMPILE_TARGETS]).default('wasm'))
    .option('--int8', 'int8 quantization: int8 activations (per-tensor) and weights (per-channel); needs --calib or --calib-random')
    .option('--fp16', 'fp16 weights and activations')
    .option('--int4', 'int4 weight-only quantization (blocks of 32)')
    .option('--calib <file>', 'calibration inputs (.pb/.npy, samples along axis 0) for --int8 and data-driven channel pruning (repeat per graph input)', collect)
    .option('--calib-random', `calibrate --int8 on ${RANDOM_CALIB_SAMPLES} seeded random samples (explicit opt-in; smoke tests only)`)
    .addOption(new Option('--calibrator <c>', 'activation range calibrator (default minmax; auto: the best of them per tensor by its local quantization error)').choices([...CALIBRATORS]))
    .option('--per-tensor', 'per-tensor int8 weight scales (default per-channel)')
    .addOption(new Option('--act-bits <n>', 'int8 activation levels (default 8); 7: ranges on [-64, 63], so the wasm relaxed-SIMD module runs one dot product per 16 MACs and model.mjs prefers it on every engine').choices(['7', '8']))
    .option('--keep-float <spec>', 'keep layers in float: auto | auto:LOSS (max output loss, default 0.005) | name,name')
    .option('--explain', 'print the per-layer quantization SNR table (on stderr, like --print-after)')
    .option('--guard-loss <loss>', `int8 check: warn when the output loss on the held-out calibration samples exceeds LOSS (default ${DEFAULT_GUARD_LOSS}: 98% top-1 agreement, or SNR 17 dB)`, parseGuardLoss)
    .option('--prune <ratio>', 'prune this fraction of weights before quantizing (0 <= RATIO < 1)', parseRatio)
    .addOption(new Option('--prune-mode <m>', 'pruning granularity (default unstructured; 2:4 always prunes 50%)').choices(['unstructured', 'channel', '2:4']))
    .option('--prune-block <n>', 'unstructured: prune blocks of N consecutive output features (default 1: elementwise; 4 or 8 run the wasm block-sparse kernel)', parsePositiveInt)
    .addOption(inputShapeOption())
    .addOption(bindOption())
    .addOption(maxInputShapeOption())
    .addOption(new Option('--wasm-simd <on|off|relaxed>', 'wasm SIMD in model.wasm (default on: SIMD128, plus a relaxed-SIMD twin for int8); off: no SIMD instruction, for WAMR/wasm3/wasm2c hosts; relaxed: model.wasm on the relaxed-SIMD kernels only').choices(['on', 'off', 'relaxed']))
    .option('--threads <n>', 'wasm: also write model-threads.wasm, large layers split in N parts over a shared memory (model.mjs create({ threads: N }))', parsePositiveInt)
    .addOption(seqShapeOption())
    .addOption(emptyOptionalOption())
    .option('--emit-onnx', 'write DIR/model.onnx, the transformed model as standard ONNX (int8: QDQ); always written, see below')
    .option('--print-after <pass>', 'print the graph after PASS on stderr (repeatable, or "all")', collect)
    .option('--disable-pass <pass>', 'skip PASS (repeatable)', collect)
    .option('--stop-after <pass>', 'stop the pipeline after PASS')
    .option('--verify', 'verify the graph after every pass')
    .option('--force', 'replace an existing artifact folder of another model, target or precision')
    .option('--hls-part <part>', 'hls: FPGA part for the estimate and build_prj.tcl (default xc7z020; xc7z010, xc7a100t, xczu3eg, xczu9eg, xcu250)')
    .addOption(new Option('--hls-fit <mode>', 'hls: raise per-layer reuse factors until the design fits the part; error (default) fails when it cannot, warn emits it anyway, off keeps the per-layer bound').choices(['error', 'warn', 'off']))
    .option('--reuse-factor <n>', 'hls: one reuse factor for every MAC layer (default: chosen per layer to fit the part)', parsePositiveInt)
    .addHelpText('after', COMPILE_HELP + BIND_HELP)
    .action((model: string, o, cmd: Command) => cmdCompile(model, { ...o, argv }, limitsOf(cmd), version, io));

  program
    .command('eval')
    .description('accuracy or mean squared error of a model or artifact on a labelled data set')
    .argument('<model>', '.onnx model or artifact folder')
    .requiredOption('--data <file>', 'inputs (.pb/.npy), first axis = samples')
    .requiredOption('--labels <file>', 'labels: class ids (accuracy) or targets (mse)')
    .addOption(new Option('--metric <m>', 'metric (default: accuracy for class labels, else mse)').choices(['accuracy', 'mse']))
    .addOption(new Option('--target <t>', 'where to run: ref (reference interpreter; on an int8 artifact its integer graph), wasm/webgpu (an artifact\'s model.mjs, or the model compiled in memory) or hls (C simulation) or c (the C package with the host C++ compiler, or --device); default: an artifact\'s own target (manifest.json "target"), ref for a model file').choices([...RUN_TARGETS]))
    .option('--json', 'machine-readable output')
    .option('--threads <n>', THREADS_HELP, parsePositiveInt)
    .addOption(inputShapeOption())
    .addOption(bindOption())
    .addHelpText('after', dataShapesHelp('--data file') + BIND_HELP)
    .action((model: string, o, cmd: Command) => cmdEval(model, o, limitsOf(cmd), io));

  program
    .command('profile')
    .description('per-layer MACs, bytes moved, measured host latency, and estimated latency/energy per device')
    .argument('<model>', '.onnx model or artifact folder')
    .option('--device <name>', 'device profile name or device JSON file (repeatable; default: all built-in)', collect)
    .option('--measure <engines>', 'time on this host: wasm (default), ref, wasm,ref, or none')
    .option('--runs <n>', 'timed runs (median; default 5)', parsePositiveInt)
    .option('--json', 'machine-readable output: {"layers","latency","energy","devices",...}')
    .option('--wide', 'do not fit the tables to 100 columns (all per-layer device columns, full names)')
    .option('--kernels <name>', 'kernel library of the MCU boards\' cycle models: x-cube-ai or cmsis-nn (default: each board\'s own)')
    .option('--emulate <device>', 'c-target artifact: also run it once on an emulated cortex-m4 or cortex-m7 (QEMU) and print its instruction count')
    .addOption(inputShapeOption())
    .addOption(bindOption())
    .addHelpText('after', PROFILE_HELP + SHAPES_HELP + BIND_HELP)
    .action((model: string, o, cmd: Command) => cmdProfile(model, o, limitsOf(cmd), io));

  program
    .command('report')
    .description('compile a sweep of configurations, measure each, write report.json/.md/.html with the Pareto front')
    .argument('<model>', '.onnx model')
    .requiredOption('--data <file>', 'inputs (.pb/.npy), first axis = samples')
    .requiredOption('--labels <file>', 'labels: class ids (accuracy) or targets (mse)')
    .option('--calib <file>', 'calibration inputs for the int8 configurations (repeat per graph input)', collect)
    .option('--calib-random', 'calibrate int8 configurations on random data (smoke tests only)')
    .addOption(new Option('--calibrator <c>', 'activation range calibrator (default minmax; auto: the best of them per tensor by its local quantization error)').choices([...CALIBRATORS]))
    .option('-o, --output <dir>', 'report folder (default ./<model-name>.report; written atomically)')
    .option('--sweep <axis=values>', 'sweep axis: precision=fp32,int8,fp16,int4 | prune=0,0.25,0.5 | target=wasm,onnx (repeatable)', collect)
    .addOption(new Option('--prune-mode <m>', 'pruning granularity of the pruned configurations (default channel)').choices(['unstructured', 'channel', '2:4']))
    .option('--prune-block <n>', 'unstructured configurations: blocks of N output features (default 4 on wasm, where 1x4 blocks run the block-sparse kernel; 1 elsewhere)', parsePositiveInt)
    .option('--device <name>', `device for the energy (and untimed latency) estimates (default ${DEFAULT_REPORT_DEVICE})`)
    .addOption(new Option('--metric <m>', 'metric (default: accuracy for class labels, else mse)').choices(['accuracy', 'mse']))
    .option('--runs <n>', 'timed wasm runs per configuration and round (median; default 10)', parsePositiveInt)
    .option('--rounds <n>', 'interleaved timing rounds over all configurations (default 5)', parsePositiveInt)
    .addHelpText('after', REPORT_HELP)
    .action((model: string, o, cmd: Command) => cmdReport(model, o, limitsOf(cmd), version, io));

  program
    .command('devices')
    .description('list the profiler\'s device profiles, or print one (a template for --device FILE)')
    .argument('[name]', 'a built-in device name (or a device JSON file, to check it)')
    .option('--json', 'JSON output (with NAME: one profile, usable as a --device file)')
    .option('--wide', 'do not fit the table to 100 columns')
    .action((name: string | undefined, o: { json?: boolean; wide?: boolean }) => cmdDevices(name, o, io));

  return program;
}

function defaultOf(k: keyof Limits): number {
  return DEFAULT_LIMITS[k];
}

/**
 * Runs the edgec command line.
 * @param argv arguments after the program name
 * @param io output sinks (default: process stdout/stderr)
 * @returns the exit code
 */
export async function runCli(argv: readonly string[], io: CliIO = STDIO): Promise<number> {
  const verbose = argv.includes('--verbose');
  const captured: { msg?: string } = {};
  try {
    if (argv.length === 0) throw usage('no command given', { hint: 'run `edgec --help`' });
    const version = edgecVersion();
    const program = buildProgram(io, version, captured, argv);
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e0) {
    if (e0 instanceof CommanderError) {
      if (e0.code === 'commander.helpDisplayed' || e0.code === 'commander.version' || (e0.code === 'commander.help' && e0.exitCode === 0)) {
        return 0;
      }
      const msg = captured.msg ?? e0.message;
      io.err(`edgec: error: ${commanderLine(msg)}\n`);
      return EXIT_CODES.usage;
    }
    const e = toEdgecError(e0);
    io.err(`edgec: error: ${e.oneLine()}\n`);
    if (verbose && e0 instanceof Error && e0.stack) io.err(`${e0.stack}\n`);
    return e.exitCode;
  }
}
