/**
 * The bare-metal part of a c-target package (mcu/): a startup file and linker script for the Arm
 * MPS2 boards QEMU emulates (code memory at 0x0, SRAM at 0x20000000), a SysTick-based instruction
 * counter (deterministic under `qemu -icount shift=0`), and a Makefile. The compiler flags live
 * here once: the Makefile and the runner (targets/c/run.ts) both take them from `mcuFlags`.
 */

/** An emulated microcontroller: arm-none-eabi-gcc CPU flags and the QEMU board. */
export interface McuDevice {
  cpu: string;
  fpu: string;
  board: string;
}

/** The devices `edgec run --target c --device NAME` emulates. */
export const MCU_DEVICES: Readonly<Record<string, McuDevice>> = {
  'cortex-m4': { cpu: 'cortex-m4', fpu: 'fpv4-sp-d16', board: 'mps2-an386' },
  'cortex-m7': { cpu: 'cortex-m7', fpu: 'fpv5-d16', board: 'mps2-an500' },
};

/** Stack reserved by the linker script (bytes): part of `ram_bytes`; a run fails when the measured use exceeds it. */
export const MCU_STACK_BYTES = 8192;
/** Heap of the test program (newlib stdio buffers for its semihosting file I/O); 0 for firmware.elf. */
export const MCU_TEST_HEAP_BYTES = 16384;

/** Compiler and linker flags of a device (C and C++ share `arch` and `common`). */
export function mcuFlags(d: McuDevice): { arch: string[]; common: string[]; cxx: string[]; link: string[] } {
  // -mfp16-format=ieee: _Float16 (the kernels' half: constant-initialized, in flash) with VCVT conversions
  const arch = [`-mcpu=${d.cpu}`, '-mthumb', '-mfloat-abi=hard', `-mfpu=${d.fpu}`, '-mfp16-format=ieee'];
  return {
    arch,
    common: ['-O2', '-ffunction-sections', '-fdata-sections', '-DEDGEC_MCU'],
    cxx: ['-std=c++14', '-fno-exceptions', '-fno-rtti', '-fno-threadsafe-statics', '-fno-use-cxa-atexit', '-Wno-unknown-pragmas'],
    link: ['--specs=rdimon.specs', '-nostartfiles', '-Wl,--gc-sections'],
  };
}

/** QEMU arguments that run `elf` on a device with semihosting and a deterministic instruction clock. */
export function qemuArgs(d: McuDevice, elf: string): string[] {
  return ['-M', d.board, '-icount', 'shift=0', '-semihosting-config', 'enable=on,target=native', '-nographic', '-monitor', 'none', '-serial', 'none', '-kernel', elf];
}

const STARTUP = `/* Bare-metal startup for the Arm MPS2 boards (Cortex-M4 mps2-an386, Cortex-M7 mps2-an500).
 * Vector table first in flash; the reset handler enables the FPU, copies .data, zeroes .bss, paints
 * the stack (for the high-water mark), starts SysTick (counts the emulator's instructions under
 * qemu -icount shift=0), runs the C++ constructors and then exit(main()). Semihosting (newlib
 * rdimon) gives the test program stdio and host files. */
#include <stdint.h>
#include <stdlib.h>
#include "counter.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
extern int main(int argc, char **argv);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

void _init(void) {}
void _fini(void) {}

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define STACK_PAINT 0xA5A5A5A5u

static volatile uint32_t systick_wraps;
static uint64_t cal_ticks = 1, cal_insns = 1;

void SysTick_Handler(void) { systick_wraps++; }

void Default_Handler(void) {
#ifndef EDGEC_NO_SEMIHOSTING
  exit(70);
#endif
  for (;;) {}
}

/* SysTick ticks since start (24-bit counter + wraps counted by the interrupt). */
static uint64_t ticks(void) {
  uint32_t w, v;
  do {
    w = systick_wraps;
    v = SYST_CVR;
  } while (w != systick_wraps);
  return ((uint64_t)w << 24) + (0xFFFFFFu - v);
}

/* Runs 2 * n instructions (subs + bne per iteration). */
static void spin(uint32_t n) {
  __asm volatile("1: subs %0, %0, #1\\n bne 1b" : "+r"(n) : : "cc");
}

unsigned long long edgec_mcu_instructions(void) {
  return (unsigned long long)(ticks() * cal_insns / cal_ticks);
}

unsigned long edgec_mcu_stack_used(void) {
  const uint32_t *p = &_sstack;
  while (p < &_estack && *p == STACK_PAINT) p++;
  return (unsigned long)((const char *)&_estack - (const char *)p);
}

void Reset_Handler(void) {
  CPACR |= 0xFu << 20;
  __asm volatile("dsb\\n isb" ::: "memory");
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
  {
    uint32_t here;
    for (dst = &_sstack; dst < &here - 64; dst++) *dst = STACK_PAINT;
  }
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* enable, interrupt, processor clock */
  spin(1024);     /* the counter loads RVR at its first tick */
  {
    const uint32_t n = 1u << 20;
    const uint64_t t0 = ticks();
    spin(n);
    const uint64_t t1 = ticks();
    cal_ticks = t1 > t0 ? t1 - t0 : 1;
    cal_insns = 2ull * n;
  }
#ifndef EDGEC_NO_SEMIHOSTING
  initialise_monitor_handles();
#endif
  __libc_init_array();
  exit(main(0, 0));
}

typedef void (*handler_t)(void);
__attribute__((section(".vectors"), used)) const handler_t edgec_vectors[16] = {
  (handler_t)&_estack, Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, 0, 0, 0, 0,
  Default_Handler, Default_Handler, 0, Default_Handler, SysTick_Handler,
};
`;

const COUNTER_H = `/* Instruction counter and stack high-water mark of the MCU startup (startup.c). */
#ifndef EDGEC_MCU_COUNTER_H_
#define EDGEC_MCU_COUNTER_H_
#ifdef __cplusplus
extern "C" {
#endif
/** Instructions executed since reset (exact to about one SysTick tick under qemu -icount shift=0). */
unsigned long long edgec_mcu_instructions(void);
/** Deepest stack use so far in bytes (painted stack). */
unsigned long edgec_mcu_stack_used(void);
#ifdef __cplusplus
}
#endif
#endif
`;

const LINKER = `/* Memory map of the Arm MPS2 boards (QEMU mps2-an386 / mps2-an500): code memory at 0x0, SRAM at
 * 0x20000000 (4 MiB of each used here). Flash: vectors, code, rodata (the model's const weights),
 * .data initializers. RAM: .data, .bss (the arena), a reserved heap (test program only) and the stack. */
MEMORY
{
  FLASH (rx)  : ORIGIN = 0x00000000, LENGTH = 4M
  RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = 4M
}
EDGEC_STACK_BYTES = DEFINED(EDGEC_STACK_BYTES) ? EDGEC_STACK_BYTES : ${MCU_STACK_BYTES};
EDGEC_HEAP_BYTES = DEFINED(EDGEC_HEAP_BYTES) ? EDGEC_HEAP_BYTES : 0;
ENTRY(Reset_Handler)
SECTIONS
{
  .text :
  {
    KEEP(*(.vectors))
    *(.text*)
    *(.rodata*)
    KEEP(*(.init))
    KEEP(*(.fini))
    . = ALIGN(4);
  } > FLASH
  .ARM.extab : { *(.ARM.extab* .gnu.linkonce.armextab.*) } > FLASH
  .ARM.exidx : { __exidx_start = .; *(.ARM.exidx* .gnu.linkonce.armexidx.*) __exidx_end = .; } > FLASH
  .preinit_array : { PROVIDE_HIDDEN(__preinit_array_start = .); KEEP(*(.preinit_array*)) PROVIDE_HIDDEN(__preinit_array_end = .); } > FLASH
  .init_array : { PROVIDE_HIDDEN(__init_array_start = .); KEEP(*(SORT(.init_array.*))) KEEP(*(.init_array*)) PROVIDE_HIDDEN(__init_array_end = .); } > FLASH
  .fini_array : { PROVIDE_HIDDEN(__fini_array_start = .); KEEP(*(SORT(.fini_array.*))) KEEP(*(.fini_array*)) PROVIDE_HIDDEN(__fini_array_end = .); } > FLASH
  _sidata = LOADADDR(.data);
  .data : { . = ALIGN(4); _sdata = .; *(.data*) . = ALIGN(4); _edata = .; } > RAM AT> FLASH
  .bss (NOLOAD) : { . = ALIGN(4); _sbss = .; __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; __bss_end__ = .; } > RAM
  .heap (NOLOAD) : { . = ALIGN(8); end = .; _end = .; . += EDGEC_HEAP_BYTES; __heap_limit = .; } > RAM
  .stack (NOLOAD) : { . = ALIGN(8); _sstack = .; . += EDGEC_STACK_BYTES; . = ALIGN(8); _estack = .; } > RAM
}
`;

/** The firmware image the sizes in manifest.json come from: the model and a main that calls edgec_run once. */
const FIRMWARE = `/* Minimal firmware: one edgec_run on static buffers (manifest.json flash_bytes / ram_bytes are
 * measured on this image). Replace main with your application. */
#include "../model.h"
`;

function firmwareC(nIn: number, nOut: number): string {
  const ins = Array.from({ length: nIn }, (_, k) => k);
  const outs = Array.from({ length: nOut }, (_, k) => k);
  return `${FIRMWARE}
${ins.map((k) => `static edgec_input${k}_t in${k}[EDGEC_INPUT${k}_SIZE];`).join('\n')}
${outs.map((k) => `static edgec_output${k}_t out${k}[EDGEC_OUTPUT${k}_SIZE];`).join('\n')}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  edgec_run(${[...ins.map((k) => `in${k}`), ...outs.map((k) => `out${k}`)].join(', ')});
  return (int)out0[0];
}
`;
}

function makefile(version: string): string {
  const devs = Object.entries(MCU_DEVICES);
  const f = mcuFlags(devs[0]![1]);
  const cases = devs.map(([name, d], k) => `${k === 0 ? 'ifeq' : 'else ifeq'} ($(DEVICE),${name})\n  CPU := ${d.cpu}\n  FPU := ${d.fpu}\n  BOARD := ${d.board}`).join('\n');
  return `# Builds the model for an emulated Cortex-M and runs it under QEMU (generated by edgec ${version}).
#   make run                    test program: reads ../input.bin, writes ../output.bin, prints instructions
#   make size                   flash/RAM of firmware.elf (model + a main that calls edgec_run)
#   make DEVICE=cortex-m7 run   ${devs.map(([n, d]) => `${n}: ${d.board}`).join(', ')}
DEVICE ?= ${devs[0]![0]}
${cases}
else
  $(error unknown DEVICE $(DEVICE))
endif
CC := arm-none-eabi-gcc
CXX := arm-none-eabi-g++
ARCH := -mcpu=$(CPU) -mthumb -mfloat-abi=hard -mfpu=$(FPU) -mfp16-format=ieee
COMMON := $(ARCH) ${f.common.join(' ')} -I..
CXXFLAGS := $(COMMON) ${f.cxx.join(' ')}
LDFLAGS := $(ARCH) ${f.link.join(' ')} -T mps2.ld

all: test.elf firmware.elf

%.o: %.c counter.h ../model.h
\t$(CC) $(COMMON) -std=gnu99 -c -o $@ $<

model.o: ../model.cpp ../model.h ../weights.h
\t$(CXX) $(CXXFLAGS) -c -o $@ $<

main.o: ../main.cpp ../model.h
\t$(CXX) $(CXXFLAGS) -c -o $@ $<

test.elf: model.o main.o startup.o mps2.ld
\t$(CXX) -o $@ model.o main.o startup.o $(LDFLAGS) -Wl,--defsym=EDGEC_HEAP_BYTES=${MCU_TEST_HEAP_BYTES}

firmware.elf: model.o firmware.o startup.o mps2.ld
\t$(CXX) -o $@ model.o firmware.o startup.o $(LDFLAGS)

run: test.elf
\tcd .. && qemu-system-arm -M $(BOARD) -icount shift=0 -semihosting-config enable=on,target=native -nographic -monitor none -serial none -kernel mcu/test.elf

size: firmware.elf
\tarm-none-eabi-size firmware.elf

clean:
\trm -f *.o test.elf firmware.elf

.PHONY: all run size clean
`;
}

/** The mcu/ files of a package with `nIn` inputs and `nOut` outputs. */
export function mcuFiles(version: string, nIn: number, nOut: number): Map<string, string> {
  return new Map([
    ['mcu/startup.c', STARTUP],
    ['mcu/counter.h', COUNTER_H],
    ['mcu/mps2.ld', LINKER],
    ['mcu/firmware.c', firmwareC(nIn, nOut)],
    ['mcu/Makefile', makefile(version)],
  ]);
}
