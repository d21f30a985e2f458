/**
 * `edgec` command line (CLI.md). `runCli(argv)` returns the exit code and never calls
 * process.exit, so tests can run it in-process. Every failure prints exactly one line
 * `edgec: error: ...` on stderr (a stack trace only with --verbose), with the exit code of its
 * error kind (compiler/errors.ts EXIT_CODES).
 */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_LIMITS, EXIT_CODES, EdgecError, Limits, limit, sanitize, usage } from '../compiler/errors.js';
import { CliIO, cmdCompile, cmdEval, cmdInspect, cmdRun } from './commands.js';
import { LIMIT_FLAGS, collect, edgecVersion, limitsFrom, parseInputShape, parsePositiveInt, parseRatio } from './options.js';
import { COMPILE_TARGETS, RUN_TARGETS } from './targets.js';

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
  7   numeric: NaN/Inf weights or data, bad calibration set
  8   output I/O: cannot write, or the output path is a file / the input's folder / not an edgec folder
  70  internal error (a bug in edgec; please report it with --verbose output)
Failures print one line "edgec: error: ..." on stderr; --verbose adds the stack trace.
Output folders are written atomically: a failed or killed run leaves the previous output or none.
`;

/** Standard streams. */
const STDIO: CliIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

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
function buildProgram(io: CliIO, version: string, captured: { msg?: string }): Command {
  const program = new Command('edgec');
  program
    .description('Compile trained neural networks (ONNX) into WebAssembly SIMD, WebGPU and FPGA-HLS artifacts.')
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
    .action((model: string, o: { json?: boolean }, cmd: Command) => cmdInspect(model, o, limitsOf(cmd), io));

  program
    .command('run')
    .description('run a model or artifact on input data files; writes DIR/output_K.pb in graph-output order')
    .argument('<model>', '.onnx model or artifact folder')
    .requiredOption('--inputs <files...>', 'input data files (.pb/.npy), in graph-input order')
    .addOption(new Option('--target <t>', 'where to run').choices([...RUN_TARGETS]).default('ref'))
    .requiredOption('--out <dir>', 'output folder (written atomically)')
    .option('--npy', 'also write output_K.npy')
    .action((model: string, o, cmd: Command) => cmdRun(model, o, limitsOf(cmd), io));

  program
    .command('compile')
    .description('optimize a model and write an artifact folder (default ./<model-name>.<target>/)')
    .argument('<model>', '.onnx model')
    .option('-o, --output <dir>', 'artifact folder (written atomically; replaces only a previous edgec artifact)')
    .addOption(new Option('--target <t>', 'code generator ("onnx": only the optimized model.onnx)').choices([...COMPILE_TARGETS]).default('wasm'))
    .option('--int8', 'int8 quantization (needs --calib)')
    .option('--fp16', 'fp16 weights and activations')
    .option('--int4', 'int4 weight-only quantization')
    .option('--calib <file>', 'calibration inputs (.pb/.npy) for --int8 and data-driven pruning')
    .addOption(new Option('--calibrator <c>', 'activation range calibrator').choices(['minmax', 'percentile', 'entropy', 'mse']))
    .option('--per-tensor', 'per-tensor weight scales (default per-channel)')
    .option('--prune <ratio>', 'prune this fraction of weights (0 <= RATIO < 1)', parseRatio)
    .addOption(new Option('--prune-mode <m>', 'pruning granularity').choices(['unstructured', 'channel', '2:4']))
    .option('--input-shape <name=dims>', 'fix an input shape, e.g. input=1x3x32x32 (repeatable; default: symbolic batch -> 1)', parseInputShape)
    .option('--emit-onnx', 'also write DIR/model.onnx, the transformed model as standard ONNX (always written)')
    .option('--print-after <pass>', 'print the graph after PASS (repeatable, or "all")', collect)
    .option('--disable-pass <pass>', 'skip PASS (repeatable)', collect)
    .option('--stop-after <pass>', 'stop the pipeline after PASS')
    .option('--verify', 'verify the graph after every pass')
    .action((model: string, o, cmd: Command) => cmdCompile(model, o, limitsOf(cmd), version, io));

  program
    .command('eval')
    .description('accuracy or mean squared error of a model or artifact on a labelled data set')
    .argument('<model>', '.onnx model or artifact folder')
    .requiredOption('--data <file>', 'inputs (.pb/.npy), first axis = samples')
    .requiredOption('--labels <file>', 'labels: class ids (accuracy) or targets (mse)')
    .addOption(new Option('--metric <m>', 'metric (default: accuracy for class labels, else mse)').choices(['accuracy', 'mse']))
    .addOption(new Option('--target <t>', 'where to run').choices([...RUN_TARGETS]).default('ref'))
    .option('--json', 'machine-readable output')
    .action((model: string, o, cmd: Command) => cmdEval(model, o, limitsOf(cmd), io));

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
    const program = buildProgram(io, version, captured);
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
