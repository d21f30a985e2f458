/** Token-aware mutations for text inputs: the IR text form and .npy header dicts. */
import { Rng } from './rng.js';

/** Tokens the IR parser knows, plus hostile ones. */
export const IR_DICT = [
  '%', '%0', '%1', '%2', '%99999999999999999999', '"', '\\', '"\\q"', '"\\u12"', '{', '}', '[', ']', '(', ')', ',', ':', '=', '@', '_',
  'nan', '-inf', 'inf', '1e309', '-0', '0.5', '1e-400', '9223372036854775808', '-9223372036854775809', '1.5', '-1', '2147483648',
  'tensor(', 'quant(', 'scale=', 'zp=', 'axis=', 'subgraph', 'opsets', 'input', 'const', 'output', 'graph', '#fnv1a:abcd',
  'f32', 'i64', 'u64', 'string', 'bool', 'i4', 'u4', 'f16', 'bf16', 'f64', 'u8', 'i8', '__proto__', 'constructor', 'toString',
  'Add', 'Relu', 'Reshape', 'Conv', 'edgec.FusedConv', 'foo.Bar', '// c\n', '\n', ' ', '\u0000', '\ud800', '"__proto__"',
];
/** Tokens for .npy header dicts. */
export const NPY_DICT = [
  "'descr'", "'fortran_order'", "'shape'", "'<f4'", "'>f8'", "'|b1'", "'<U8'", "'O'", "'<c8'", "'<f16'", "'=i4'", "'|V4'",
  'True', 'False', 'None', '(', ')', '()', '(0,)', '(1,)', '(2147483648, 2147483648)', '(99999999999999999999999999999,)',
  '(-1,)', '(1.5,)', '(1L,)', ',', ':', '{', '}', '[', "[('a', '<f4')]", '"', "'", ' ', '\n', "'__proto__'", '\u00ff', '\u0000',
];

export function mutateText(s: string, r: Rng, dict: readonly string[], others: readonly string[]): string {
  const k = r.small(4);
  for (let i = 0; i < k; i++) {
    const at = r.int(s.length + 1);
    switch (r.int(8)) {
      case 0: s = s.slice(0, at) + r.pick(dict) + s.slice(at); break; // insert token
      case 1: { // replace the token (word/number run) at `at`
        const m = /^[A-Za-z0-9_.+%-]+/.exec(s.slice(at));
        s = s.slice(0, at) + r.pick(dict) + s.slice(at + (m ? m[0].length : 1));
        break;
      }
      case 2: s = s.slice(0, at) + s.slice(at + r.small(16)); break; // delete
      case 3: { // duplicate or delete a line
        const lines = s.split('\n');
        const li = r.int(lines.length);
        if (r.bool()) lines.splice(li, 0, lines[r.int(lines.length)]!);
        else lines.splice(li, 1);
        s = lines.join('\n');
        break;
      }
      case 4: s = s.slice(0, at); break; // truncate
      case 5: { // splice with another seed
        if (!others.length) break;
        const o = r.pick(others);
        s = s.slice(0, at) + o.slice(r.int(o.length + 1));
        break;
      }
      case 6: { // replace a number with an interesting one
        const nums = [...s.matchAll(/-?\d+(\.\d+)?/g)];
        if (!nums.length) break;
        const m = r.pick(nums);
        s = s.slice(0, m.index) + r.pick(['0', '-1', '2147483648', '4294967297', '9007199254740993', '1e400', '1.5', '-0', '99999999999999999999']) + s.slice(m.index! + m[0].length);
        break;
      }
      case 7: { // change one char
        if (!s.length) break;
        const c = String.fromCharCode(r.pick([0, 9, 10, 34, 35, 37, 39, 40, 41, 44, 46, 58, 61, 64, 91, 92, 93, 95, 123, 125, 0xff, 0x2028, r.range(32, 126)]));
        const j = r.int(s.length);
        s = s.slice(0, j) + c + s.slice(j + 1);
        break;
      }
    }
  }
  return s;
}
