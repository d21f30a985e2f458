// ===== kernel_0.wgsl =====
// edgec webgpu kernel: conv2d_igemm_tiled_f32
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
struct Offsets {
  x: u32,
  w: u32,
  b: u32,
  y: u32,
}
@group(0) @binding(2) var<uniform> off: Offsets;
// bit pattern -> f32 at run time (infinities and NaN cannot be WGSL constant expressions)
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

var<workgroup> ta: array<array<f32, 16>, 32>;

var<workgroup> tb: array<array<f32, 32>, 16>;

fn act(v: f32) -> f32 {
  return max(v, 0.0);
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let z = i32(wid.z);
  let n_img = z / 1;
  let g = z % 1;
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  let tid = i32(lidx);
  let row0 = i32(wid.y) * 32;
  let col0 = i32(wid.x) * 32;
  var acc: array<f32, 16>;
  for (var k0 = 0; k0 < 27; k0 += 16) {
    for (var e = 0; e < 8; e++) {
      let li = tid + e * 64;
      let r = li / 16;
      let kk = li % 16;
      let m = row0 + r;
      let k = k0 + kk;
      var av = 0.0;
      if (m < 16 && k < 27) {
        av = weights[i32(off.w) + (g * 16 + m) * 27 + k];
      }
      ta[r][kk] = av;
    }
    for (var e = 0; e < 8; e++) {
      let li = tid + e * 64;
      let kk = li / 32;
      let cc = li % 32;
      let n = col0 + cc;
      let k = k0 + kk;
      var bv = 0.0;
      if (n < 256 && k < 27) {
        let c = k / 9;
        let kh = (k % 9) / 3;
        let kw = k % 3;
        let ih = (n / 16) * 1 - 1 + kh * 1;
        let iw = (n % 16) * 1 - 1 + kw * 1;
        if (ih >= 0 && ih < 16 && iw >= 0 && iw < 16) {
          bv = arena[i32(off.x) + (n_img) * 768 + (g * 3 + c) * 256 + (ih) * 16 + (iw)];
        }
      }
      tb[kk][cc] = bv;
    }
    workgroupBarrier();
    for (var kk = 0; kk < 16; kk++) {
      for (var i = 0; i < 4; i++) {
        let a = ta[ty + i * 8][kk];
        for (var j = 0; j < 4; j++) { acc[i * 4 + j] = fma(a, tb[kk][tx + j * 8], acc[i * 4 + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0; i < 4; i++) {
    for (var j = 0; j < 4; j++) {
      let m = row0 + ty + i * 8;
      let n = col0 + tx + j * 8;
      let v = acc[i * 4 + j];
      if (m < 16 && n < 256) { arena[i32(off.y) + (n_img) * 4096 + (g * 16 + m) * 256 + (n)] = act(v + weights[i32(off.b) + g * 16 + m]); }
    }
  }
}

// ===== kernel_1.wgsl =====
// edgec webgpu kernel: conv2d_direct_f32
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
struct Offsets {
  x: u32,
  w: u32,
  y: u32,
}
@group(0) @binding(2) var<uniform> off: Offsets;
// bit pattern -> f32 at run time (infinities and NaN cannot be WGSL constant expressions)
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

fn act(v: f32) -> f32 {
  return v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gi = i32((wid.y * 16u + wid.x) * 64u + lid);
  if (gi >= 1024) { return; }
  let ow = gi % 8;
  let oh = (gi / 8) % 8;
  let k = (gi / 64) % 16;
  let n = gi / 1024;
  let c0 = (k / 1) * 1;
  var acc = 0.0;
  for (var c = 0; c < 1; c++) {
    for (var kh = 0; kh < 3; kh++) {
      let ih = oh * 2 - 1 + kh * 1;
      if (ih < 0 || ih >= 16) { continue; }
      for (var kw = 0; kw < 3; kw++) {
        let iw = ow * 2 - 1 + kw * 1;
        if (iw < 0 || iw >= 16) { continue; }
        acc += arena[i32(off.x) + (n) * 4096 + (c0 + c) * 256 + (ih) * 16 + (iw)] * weights[i32(off.w) + (k) * 9 + (c) * 9 + (kh) * 3 + (kw)];
      }
    }
  }
  arena[i32(off.y) + gi] = act(acc);
}

// ===== kernel_2.wgsl =====
// edgec webgpu kernel: global_pool_f32
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
struct Offsets {
  x: u32,
  y: u32,
}
@group(0) @binding(2) var<uniform> off: Offsets;
// bit pattern -> f32 at run time (infinities and NaN cannot be WGSL constant expressions)
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gi = i32((wid.y * 1u + wid.x) * 64u + lid);
  if (gi >= 16) { return; }
  var acc = 0.0;
  for (var i = 0; i < 64; i++) {
    let v = arena[i32(off.x) + (gi) * 64 + (i)];
    acc += v;
  }
  arena[i32(off.y) + gi] = acc / 64.0;
}

// ===== kernel_3.wgsl =====
// edgec webgpu kernel: gemm_direct_f32
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
struct Offsets {
  a: u32,
  b: u32,
  c: u32,
  y: u32,
}
@group(0) @binding(2) var<uniform> off: Offsets;
// bit pattern -> f32 at run time (infinities and NaN cannot be WGSL constant expressions)
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

fn act(v: f32) -> f32 {
  return v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gi = i32((wid.y * 1u + wid.x) * 64u + lid);
  if (gi >= 10) { return; }
  let n = gi % 10;
  let m = (gi / 10) % 1;
  let z = gi / 10;
  let abase = 0 + m * 16;
  let bbase = 0 + n * 16;
  var acc = 0.0;
  for (var k = 0; k < 16; k++) {
    acc = fma(arena[i32(off.a) + abase + k * 1], weights[i32(off.b) + bbase + k * 1], acc);
  }
  arena[i32(off.y) + gi] = act(bitcast<f32>(0x3f800000u) * acc + weights[i32(off.c) + n]);
}

// ===== kernel_4.wgsl =====
// edgec webgpu kernel: softmax_f32
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
struct Offsets {
  x: u32,
  y: u32,
}
@group(0) @binding(2) var<uniform> off: Offsets;
// bit pattern -> f32 at run time (infinities and NaN cannot be WGSL constant expressions)
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gi = i32((wid.y * 1u + wid.x) * 64u + lid);
  if (gi >= 1) { return; }
  let o = gi / 1;
  let i = gi % 1;
  var m = f32_bits(0xff800000u);
  for (var l = 0; l < 10; l++) { m = max(m, arena[i32(off.x) + (o) * 10 + (l) + (i)]); }
  var sum = 0.0;
  for (var l = 0; l < 10; l++) { sum += exp(arena[i32(off.x) + (o) * 10 + (l) + (i)] - m); }
  let ls = log(sum);
  for (var l = 0; l < 10; l++) {
    let d = arena[i32(off.x) + (o) * 10 + (l) + (i)] - m;
    arena[i32(off.y) + (o) * 10 + (l) + (i)] = exp(d) / sum;
  }
}
